/*
 * page.h: the live page served at / (broker/page.html), embedded into the
 * binary at build time by CMake (broker/embed.cmake writes page_html.c).
 */
#ifndef AB_PAGE_H
#define AB_PAGE_H

#include <stddef.h>

extern const unsigned char page_html[];
extern const size_t page_html_len;

#endif

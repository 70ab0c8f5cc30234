int ab__proto_placeholder(void); int ab__proto_placeholder(void) { return 0; }

# redis.Dockerfile: a Redis image for the compose tests, which cannot pull
# redis:7; built from Debian's redis-server the same way as the other images.
ARG REDIS_BASE=debian:bookworm-slim
FROM ${REDIS_BASE}
ARG REDIS_PACKAGES="redis-server"
RUN set -eu; missing=""; \
    for p in $REDIS_PACKAGES; do \
      dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed || missing="$missing $p"; \
    done; \
    if [ -n "$missing" ]; then \
      apt-get update; \
      DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing; \
      rm -rf /var/lib/apt/lists/*; \
    fi
USER redis
# Like the official image: no persistence, reachable on the compose network.
CMD ["redis-server", "--bind", "0.0.0.0", "--protected-mode", "no", "--save", "", "--appendonly", "no"]

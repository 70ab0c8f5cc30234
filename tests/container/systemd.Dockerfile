# systemd.Dockerfile: a host with systemd as its init, for testing
# deploy/agentbusd.service for real: Type=notify, reload, stop, and every
# hardening directive. The binaries come from the agentbus image under test;
# the build context is a directory the test fills (the unit, a registry).
ARG SYSTEMD_BASE=debian:bookworm-slim
ARG AGENTBUS_IMAGE=agentbus:latest
FROM ${AGENTBUS_IMAGE} AS agentbus

FROM ${SYSTEMD_BASE}
ARG SYSTEMD_PACKAGES="systemd systemd-sysv python3 python3-zmq python3-yaml libzmq5 libuv1 libyaml-0-2 libsodium23 libhiredis0.14 libmicrohttpd12 libmsgpackc2"
RUN set -eu; missing=""; \
    for p in $SYSTEMD_PACKAGES; do \
      dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed || missing="$missing $p"; \
    done; \
    if [ -n "$missing" ]; then \
      apt-get update; \
      DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing; \
      rm -rf /var/lib/apt/lists/*; \
    fi
COPY --from=agentbus /usr/local/bin/ /usr/local/bin/
COPY agentbusd.service /etc/systemd/system/agentbusd.service
COPY registry.yaml agentbusd.env /etc/agentbus/
COPY demo_agents.py /usr/local/bin/demo_agents.py
# As the unit's header says to install it.
RUN useradd --system --no-create-home --shell /usr/sbin/nologin agentbus \
 && systemctl enable agentbusd
STOPSIGNAL SIGRTMIN+3
CMD ["/sbin/init"]

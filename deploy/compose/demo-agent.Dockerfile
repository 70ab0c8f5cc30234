# demo-agent.Dockerfile: the demo agents (deploy/demo_agents.py) as an
# image, standing in for a fleet's own agent images in the compose example.
# They are plain pyzmq REP/REQ code that knows nothing of agentbus.
#
#   docker build -f deploy/compose/demo-agent.Dockerfile -t agentbus-demo-agent .
#
ARG AGENT_BASE=debian:bookworm-slim
FROM ${AGENT_BASE}
ARG AGENT_PACKAGES="python3 python3-zmq python3-yaml"
# Installs only what the base lacks (as in deploy/Dockerfile).
RUN set -eu; missing=""; \
    for p in $AGENT_PACKAGES; do \
      dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed || missing="$missing $p"; \
    done; \
    if [ -n "$missing" ]; then \
      apt-get update; \
      DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing; \
      rm -rf /var/lib/apt/lists/*; \
    fi
COPY deploy/demo_agents.py /usr/local/bin/demo_agents.py
USER nobody
ENTRYPOINT ["python3", "-u", "/usr/local/bin/demo_agents.py"]

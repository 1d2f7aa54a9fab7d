# ecourt: one node, in-memory state. Media needs UDP: run with --network host, or set
# ECOURT_UDP_PORTS and ECOURT_ANNOUNCED_IP and publish that UDP range (-p 50000-50100:50000-50100/udp).
FROM node:20-slim AS assets
WORKDIR /src
COPY package.json ./
RUN npm install --omit=dev --no-audit --no-fund --loglevel=error \
 && mkdir -p /vendor && cp node_modules/socket.io-client/dist/socket.io.min.js node_modules/hls.js/dist/hls.min.js /vendor/

# the forwarding path's per-sink work and SRTP sender in C (optional: without it, Python's)
FROM python:3.11-slim AS native
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev libssl-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY tools/build-native tools/
COPY media/_srtp_native.h media/_srtp_native.c media/_srtp_native_fanout.c media/
RUN bash tools/build-native python && ls media/_srtp_native*.so

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 ECOURT_HOST=0.0.0.0 ECOURT_PORT=8080 \
    ECOURT_DATA_DIR=/var/lib/ecourt
RUN useradd --system --create-home --home-dir /var/lib/ecourt ecourt
WORKDIR /app
COPY pyproject.toml README.md ./
COPY hearing hearing
COPY security security
COPY media media
COPY recording recording
COPY signaling signaling
COPY web web
COPY --from=assets /vendor web/static/vendor
COPY --from=native /src/media/ media/
RUN pip install --no-cache-dir . && rm -rf /root/.cache
USER ecourt
EXPOSE 8080
CMD ["ecourt", "serve"]

# ecourt: one node, in-memory state. Media needs UDP: run with --network host, or publish a
# UDP range once a fixed port range is configurable (see the SFU production issue).
FROM node:20-slim AS assets
WORKDIR /src
COPY package.json ./
RUN npm install --omit=dev --no-audit --no-fund --loglevel=error \
 && mkdir -p /vendor && cp node_modules/socket.io-client/dist/socket.io.min.js node_modules/hls.js/dist/hls.min.js /vendor/

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
RUN pip install --no-cache-dir . && rm -rf /root/.cache
USER ecourt
EXPOSE 8080
CMD ["ecourt", "serve"]

# ecourt: one node, in-memory state. Media needs UDP: run with --network host, or set
# ECOURT_UDP_PORTS and ECOURT_ANNOUNCED_IP and publish that UDP range (-p 50000-50100:50000-50100/udp).
# The image installs the wheel that tools/build-wheel builds (the one `make test` checks), on
# the locked dependencies (requirements*.lock, hashes required).

# the pages' browser libraries, exactly as package-lock.json has them
FROM node:20-slim AS assets
WORKDIR /src
COPY package.json package-lock.json ./
COPY tools/build-assets tools/
RUN bash tools/build-assets

# the wheel, with the C forwarding module (ECOURT_REQUIRE_NATIVE=1: a failed C build fails here)
FROM python:3.11-slim AS wheel
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc libc6-dev libssl-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY requirements-build.lock ./
RUN pip install --no-cache-dir --require-hashes -r requirements-build.lock
COPY pyproject.toml setup.py README.md ./
COPY tools/build-wheel tools/
COPY hearing hearing
COPY security security
COPY media media
COPY recording recording
COPY signaling signaling
COPY web web
COPY --from=assets /src/web/static/vendor web/static/vendor
RUN ECOURT_REQUIRE_NATIVE=1 bash tools/build-wheel python /dist

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 ECOURT_HOST=0.0.0.0 ECOURT_PORT=8080 \
    ECOURT_DATA_DIR=/var/lib/ecourt ECOURT_LOG_FORMAT=json
RUN useradd --system --uid 10001 --create-home --home-dir /var/lib/ecourt ecourt
# the name plates' font, which writes Vietnamese with every tone mark (media/picture.py), and
# the time zones (ECOURT_TIME_ZONE)
RUN apt-get update \
 && apt-get install -y --no-install-recommends fonts-dejavu-core tzdata \
 && rm -rf /var/lib/apt/lists/*
COPY requirements.lock /tmp/
RUN pip install --no-cache-dir --require-hashes -r /tmp/requirements.lock && rm /tmp/requirements.lock
COPY --from=wheel /dist /tmp/dist
RUN pip install --no-cache-dir --no-deps /tmp/dist/ecourt-*.whl && rm -rf /tmp/dist
USER 10001
WORKDIR /var/lib/ecourt
EXPOSE 8080
CMD ["ecourt", "serve"]

# Nexu: Debian 12 build stage, slim Debian 12 runtime, non-root.
# docker build -t nexu . ; see docker-compose.yml for the clustered deployment.
FROM debian:12 AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends g++ cmake ninja-build pkg-config make \
      libboost1.81-dev nlohmann-json3-dev libsodium-dev libspdlog-dev libfmt-dev \
      libexpected-dev libre2-dev libhiredis-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt ./
COPY app ./app
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DNEXU_TESTS=OFF \
 && cmake --build build --target nexu nexuctl

FROM debian:12-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libsodium23 libspdlog1.10 libfmt9 libre2-9 \
      libhiredis0.14 curl ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin nexu \
 && mkdir -p /data /logs /state \
 && chown nexu:nexu /data /logs /state
COPY --from=build /src/build/app/nexu /src/build/app/nexuctl /usr/local/bin/
USER nexu
# The master key arrives as a compose/swarm secret; it never lives in the image or in /data.
ENV NEXU_BIND=0.0.0.0 \
    NEXU_PORT=8080 \
    NEXU_DATA_DIR=/data \
    NEXU_LOGS_DIR=/logs \
    NEXU_STATE_DIR=/state \
    NEXU_KEY_FILE=/run/secrets/nexu_master_key
EXPOSE 8080
VOLUME ["/data", "/logs", "/state"]
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8080/health || exit 1
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/nexu"]

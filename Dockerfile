# Static binary (pure-Go SQLite, no cgo) in a minimal non-root image.
#   docker build -t feedrelay .
#   docker run -d --name feedrelay -p 8080:8080 -v feedrelay-data:/data feedrelay
# Mount your own config at /etc/feedrelay/config.yaml (the health check reads
# it too); keep database: on /data. A consistent backup while it runs:
#   docker exec feedrelay feedrelay backup -config /etc/feedrelay/config.yaml /data/backup.db
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o /out/feedrelay ./cmd/feedrelay
# The example config, adapted to the container: listen on all interfaces,
# database on the volume.
RUN mkdir -p /out/etc /out/data && \
    sed -e 's|^listen: .*|listen: 0.0.0.0:8080|' \
        -e 's|^database: .*|database: /data/feedrelay.db|' config.yaml > /out/etc/config.yaml

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/feedrelay /usr/local/bin/feedrelay
COPY --from=build /out/etc/config.yaml /etc/feedrelay/config.yaml
COPY --from=build --chown=nonroot:nonroot /out/data /data
USER nonroot
VOLUME /data
EXPOSE 8080
# The image has no shell, curl or wget: the binary asks its own /healthz, on
# the listen address of the same config (0.0.0.0 is asked on 127.0.0.1).
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
    CMD ["/usr/local/bin/feedrelay", "healthcheck", "-config", "/etc/feedrelay/config.yaml"]
ENTRYPOINT ["/usr/local/bin/feedrelay"]
CMD ["serve", "-config", "/etc/feedrelay/config.yaml"]

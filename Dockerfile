# Static binary (pure-Go SQLite, no cgo) in a minimal non-root image.
#   docker build -t feedrelay .
#   docker run -p 8080:8080 -v feedrelay-data:/data feedrelay
# Mount your own config at /etc/feedrelay/config.yaml; keep database: on /data.
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
ENTRYPOINT ["/usr/local/bin/feedrelay"]
CMD ["serve", "-config", "/etc/feedrelay/config.yaml"]

# dropday in a container: a static binary on distroless, running as non-root.
#   docker build -t dropday .
#   docker run --env-file dropday.env -p 8080:8080 -v dropday-data:/data dropday
# See README.md, "Scale-out on PostgreSQL".

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# Templ output is committed, so a plain build is enough. No cgo: SQLite is
# pure Go, and the binary runs on an image without libc.
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/dropday ./cmd/dropday \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/dropday /dropday
# The data directory (SQLite file, artwork, generated keys) belongs to the
# image's non-root user (65532), so a fresh named volume is writable.
COPY --from=build --chown=65532:65532 /out/data /data
ENV DROPDAY_ADDR=0.0.0.0:8080 \
    DROPDAY_DATA_DIR=/data \
    DROPDAY_LOG_FORMAT=json
USER 65532:65532
VOLUME /data
EXPOSE 8080
# No shell or curl in the image: the orchestrator or the balancer checks
# GET /healthz (alive) and GET /readyz (ready for traffic).
ENTRYPOINT ["/dropday"]
CMD ["serve"]

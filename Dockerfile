# Build: a static binary (CGO off: the SQLite driver is pure Go).
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/onlinenow .

# Run: a small image with the binary only, as an unprivileged user.
FROM alpine:3.21
RUN adduser -D -H -u 10001 onlinenow \
 && mkdir -p /app/data \
 && chown onlinenow /app/data
WORKDIR /app
COPY --from=build /out/onlinenow /usr/local/bin/onlinenow
USER onlinenow
ENV PORT=3000
EXPOSE 3000
# Without DATABASE_URL the server keeps its SQLite file here.
VOLUME ["/app/data"]
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s \
  CMD wget -q -O /dev/null "http://127.0.0.1:${PORT}/" || exit 1
ENTRYPOINT ["onlinenow"]

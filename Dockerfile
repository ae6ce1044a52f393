# broadcaster: the scheduled worker (`broadcast worker`) in a small image.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    BROADCAST_CONFIG=/app/config/broadcaster.yaml

WORKDIR /app
COPY pyproject.toml README.md ./
COPY broadcaster ./broadcaster
RUN pip install '.[postgres,serve]'
COPY templates ./templates
COPY config ./config

# Run as an unprivileged user; the ledger (var/) and the banner files (site/) live in volumes.
RUN useradd --create-home --uid 10001 broadcaster \
    && mkdir -p /app/var /app/site \
    && chown -R broadcaster:broadcaster /app/var /app/site
USER broadcaster
VOLUME ["/app/var", "/app/site"]

# The daily pass and the feed poll; `docker stop` (SIGTERM) lets the pass in hand finish.
# `broadcast serve` (the web application) listens on 8080 when serve.host is 0.0.0.0.
EXPOSE 8080
CMD ["broadcast", "worker"]

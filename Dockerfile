# broadcaster: the scheduled worker (`broadcast worker`) in a small image.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    BROADCAST_CONFIG=/app/config/broadcaster.yaml

# The package is the product: it carries the built-in templates (and `broadcast init`'s
# starter), so only the installed copy is kept, not the source it was built from.
WORKDIR /src
COPY pyproject.toml README.md ./
COPY broadcaster ./broadcaster
RUN pip install '.[postgres]' && rm -rf /src

# Your config, and your template overrides (templates/: each file there replaces the built-in
# template of its name; the folder must exist, since the config's `templates:` names it).
WORKDIR /app
COPY config ./config
COPY templates ./templates

# Run as an unprivileged user; the ledger (var/) and the banner files (site/) live in volumes.
RUN useradd --create-home --uid 10001 broadcaster \
    && mkdir -p /app/var /app/site \
    && chown -R broadcaster:broadcaster /app/var /app/site
USER broadcaster
VOLUME ["/app/var", "/app/site"]

# The daily pass and the feed poll; `docker stop` (SIGTERM) lets the pass in hand finish.
CMD ["broadcast", "worker"]

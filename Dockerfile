# redflag: the web application (and, with another command, the worker).
# Secrets come from the environment (see README: configuration); nothing is baked in.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    REDFLAG_ENV=production

WORKDIR /srv/redflag
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY alerts ./alerts
COPY moderation ./moderation
COPY organisations ./organisations
COPY migrations ./migrations
RUN pip install . \
 && useradd --system --uid 10001 --home-dir /srv/redflag --shell /usr/sbin/nologin redflag

USER redflag
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]

# Behind a reverse proxy in another container or on the host, set
# REDFLAG_FORWARDED_ALLOW_IPS to the proxy's address or CIDR range (never *): the default,
# 127.0.0.1, trusts no one outside this container, so every client would share one limit.
# Migrations first (idempotent), then the server. Run exactly one replica with this
# command per deploy, or run `redflag migrate` as a separate release step.
CMD ["sh", "-c", "redflag migrate && exec redflag serve --host 0.0.0.0 --port 8000"]

# syntax=docker/dockerfile:1
# Doktu: one image for the web app (`doktu serve`, gunicorn) and the worker (`doktu worker`).
# Slim Debian base, no compilers (every dependency ships a wheel), runs as an unprivileged user.

FROM python:3.11-slim AS deps
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PATH=/opt/venv/bin:$PATH
RUN python -m venv /opt/venv
WORKDIR /app
# Dependencies first, against empty packages, so this layer is rebuilt only when pyproject.toml
# changes. The editable install points the venv at /app, where the sources land below (the
# migrations and content are found beside the code, as in a checkout).
COPY pyproject.toml README.md ./
RUN mkdir core portals jobs && touch core/__init__.py portals/__init__.py jobs/__init__.py \
    && pip install -e . && rm -rf core portals jobs

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH=/opt/venv/bin:$PATH \
    DOKTU_ENV=production DOKTU_INSTANCE_PATH=/app/instance
RUN groupadd --gid 10001 doktu && useradd --uid 10001 --gid doktu --no-create-home --shell /usr/sbin/nologin doktu
COPY --from=deps /opt/venv /opt/venv
WORKDIR /app
COPY pyproject.toml README.md wsgi.py ./
COPY core core
COPY portals portals
COPY jobs jobs
COPY migrations migrations
COPY content content
RUN mkdir -p instance && chown doktu:doktu instance
USER doktu
EXPOSE 8000
# The worker runs the same image with `doktu worker` (docker-compose.yml, fly.toml [processes]).
CMD ["doktu", "serve", "--host", "0.0.0.0", "--port", "8000"]

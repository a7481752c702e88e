FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DOKTU_ENV=production
WORKDIR /app
COPY pyproject.toml README.md ./
COPY core core
COPY portals portals
COPY jobs jobs
COPY migrations migrations
COPY content content
COPY wsgi.py ./
RUN pip install --no-cache-dir . && useradd --create-home --uid 10001 doktu
USER doktu
EXPOSE 8000
CMD ["doktu", "serve", "--host", "0.0.0.0", "--port", "8000"]

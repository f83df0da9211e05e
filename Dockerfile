# ModelWatch image: one image for web (gunicorn), worker and beat.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 MODELWATCH_DATA_DIR=/data
WORKDIR /app

COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

COPY . .
RUN useradd --system --uid 1000 --home /app modelwatch \
    && mkdir -p /data /metrics && chown modelwatch /data /metrics
USER modelwatch

# Static files are collected at build time with a throwaway key (never used at run time).
RUN SECRET_KEY=build-only DJANGO_DEBUG=0 python manage.py collectstatic --noinput

EXPOSE 8000
CMD ["gunicorn", "monitor_site.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-", "--config", "python:monitor_site.gunicorn_conf"]

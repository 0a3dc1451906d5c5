FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY toky_ghl ./toky_ghl
COPY worker ./worker
COPY producers ./producers
RUN pip install --no-cache-dir . && useradd --create-home app
USER app
ENTRYPOINT ["toky-ghl"]
CMD ["worker"]

# The image of every toky-ghl process (docker-compose.yml): `docker run IMAGE worker`,
# `... poll`, `... webhook --host 0.0.0.0`, `... flower --address 0.0.0.0`.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY toky_ghl ./toky_ghl
COPY worker ./worker
COPY producers ./producers
COPY clients ./clients
COPY contract ./contract
COPY cli ./cli
COPY simulators ./simulators
RUN pip install . \
    && useradd --create-home --uid 10001 --shell /usr/sbin/nologin app

# Never root: the worker, the receiver and Flower need no privileges.
USER app
EXPOSE 8080 5555
ENTRYPOINT ["toky-ghl"]
CMD ["worker"]

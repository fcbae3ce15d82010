# The Moments dashboard (and, with another command, the CLI or the HTTP API).
# Not built on the development machine (it has no Docker engine); kept in step with the
# Makefile: same requirements files, same entry points.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    HF_HUB_OFFLINE=1 \
    MOMENTS_DATA_DIR=/data

# Compilers for llama-cpp-python (built from source) and the MDL writer's C part, curl
# for the healthcheck.
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential cmake curl \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
# The package with every extra ([all]: local model, dashboard, API, fine-tuning, Postgres,
# S3, ...); dependencies are declared in pyproject.toml. `pip install moments` alone is
# the core library and CLI.
COPY pyproject.toml setup.py README.md ./
COPY moments_core ./moments_core
RUN pip install -e '.[all]'
COPY app.py serve.py ./
COPY .streamlit ./.streamlit
COPY pages ./pages
COPY dashboard ./dashboard
COPY configs ./configs

RUN useradd --create-home --uid 10001 moments && mkdir -p /data && chown moments /data
USER moments
VOLUME ["/data"]
EXPOSE 8501 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
  CMD curl -fsS http://127.0.0.1:8501/_stcore/health || exit 1

CMD ["streamlit", "run", "serve.py", "--server.port=8501", "--server.address=0.0.0.0", "--server.headless=true"]

# Every target of main.py in one container: `python -m runrun serve` on $PORT.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PORT=8080 \
    RUNRUN_STATE_DIR=/tmp/runrun

WORKDIR /app
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin runrun

# Dependencies in their own layer: rebuilt only when requirements.txt changes. Only the
# runtime section is installed (everything above the "# Checks and tests" line).
COPY requirements.txt ./
RUN sed '/^# Checks and tests/,$d' requirements.txt > /tmp/runtime-requirements.txt \
    && pip install -r /tmp/runtime-requirements.txt \
    && rm /tmp/runtime-requirements.txt

# The code: the targets, what they share, and the server.
COPY main.py ./
COPY functions/ functions/
COPY shared/ shared/
COPY runrun/ runrun/

USER runrun
EXPOSE 8080
# exec: python becomes PID 1 and receives Cloud Run's SIGTERM itself.
CMD ["sh", "-c", "exec python -m runrun serve --host 0.0.0.0 --port \"${PORT:-8080}\""]

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

# Dependencies in their own layer: rebuilt only when requirements.txt changes. It holds the
# run-time packages only (the test and lint tools are in requirements-dev.txt).
COPY requirements.txt ./
RUN pip install -r requirements.txt

# The code: the targets, what they share, and the server.
COPY main.py ./
COPY functions/ functions/
COPY shared/ shared/
COPY runrun/ runrun/
# Their bytecode, compiled once here: with PYTHONDONTWRITEBYTECODE nothing is ever written at
# run time, so without it every cold start would compile these sources again (about 0.1 s of
# CPU, a third of the start at one vCPU; README, "Benchmarks").
RUN python -m compileall -q main.py functions shared runrun

USER runrun
EXPOSE 8080
# exec: python becomes PID 1 and receives Cloud Run's SIGTERM itself.
CMD ["sh", "-c", "exec python -m runrun serve --host 0.0.0.0 --port \"${PORT:-8080}\""]

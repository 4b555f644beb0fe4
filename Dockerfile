# The JSORC image: the worker, Beat, the API, Flower and action servers all run from it.
#   docker build -t jsorc:0.1.0 .
# On Kubernetes the manifests name it through JSORC_IMAGE (see README, "Kubernetes").
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    JSORC_HOME=/var/lib/jsorc
WORKDIR /app

# Dependencies first, pinned by constraints.txt, so a code change does not reinstall them.
COPY pyproject.toml constraints.txt ./
RUN python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; \
print('\n'.join(p['dependencies'] + p['optional-dependencies']['postgres']))" \
        > /tmp/requirements.txt \
    && pip install -c constraints.txt -r /tmp/requirements.txt

COPY README.md celeryconfig.py ./
COPY jsorc ./jsorc
COPY jsorc_examples ./jsorc_examples
COPY tasks ./tasks
COPY beat_schedule ./beat_schedule
COPY manifests ./manifests
RUN pip install --no-deps . \
    && useradd --uid 1000 --create-home jsorc \
    && mkdir -p "$JSORC_HOME" && chown jsorc "$JSORC_HOME"

# Numeric, so Kubernetes can check runAsNonRoot.
USER 1000
# The API; action servers listen on 8080, Flower on 5555.
EXPOSE 8716 8080 5555
CMD ["jsorc", "api", "--host", "0.0.0.0", "--port", "8716"]

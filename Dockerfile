# The JSORC image: worker, Beat, API and action servers all run from it.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml constraints.txt README.md ./
COPY jsorc ./jsorc
COPY jsorc_examples ./jsorc_examples
COPY tasks ./tasks
COPY beat_schedule ./beat_schedule
COPY manifests ./manifests
COPY celeryconfig.py ./
RUN pip install --no-cache-dir -c constraints.txt ".[postgres]" \
    && useradd --create-home jsorc
USER jsorc
ENV JSORC_HOME=/home/jsorc/.jsorc
EXPOSE 8716
CMD ["jsorc", "api", "--host", "0.0.0.0", "--port", "8716"]

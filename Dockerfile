FROM python:3.11-slim

WORKDIR /app
COPY pyproject.toml constraints.txt README.md ./
COPY dmart_attach ./dmart_attach
RUN pip install --no-cache-dir -c constraints.txt .

ENV SPACES_FOLDER=/data/spaces \
    INDEX_PATH=/data/state \
    LISTENING_HOST=0.0.0.0 \
    LISTENING_PORT=8282
VOLUME ["/data"]
EXPOSE 8282
CMD ["dmart-attach", "serve"]

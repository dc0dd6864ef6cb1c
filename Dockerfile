# idlbot: runs `idlbot run` as an unprivileged user.
# Mount the config at /etc/idlbot/config.toml and pass the secrets as environment
# variables (IDLBOT_MATTERMOST_TOKEN, IDLBOT_SLASH_TOKEN, ...). Run `idlbot migrate
# --config /etc/idlbot/config.toml` once per release before starting the bot (compose.yaml
# does: its `migrate` service). In a container set `[server] host = "0.0.0.0"`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1

WORKDIR /src
COPY pyproject.toml README.md ./
COPY idlbot ./idlbot
COPY migrations ./migrations
RUN pip install . && rm -rf /src

# /var/lib/idlbot: where a volume for a SQLite database goes (docs/deploy.md), owned by
# the bot's user so that a fresh named volume mounted there is writable.
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin idlbot \
 && install -d -o idlbot -g idlbot /var/lib/idlbot
USER idlbot
WORKDIR /home/idlbot

EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"
ENTRYPOINT ["idlbot"]
CMD ["run", "--config", "/etc/idlbot/config.toml"]

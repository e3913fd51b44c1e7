# HEP: `make run` installs, migrates, seeds demo data and serves; `make test` installs and tests.
VENV   := .venv
PY     := $(VENV)/bin/python
FLASK  := $(VENV)/bin/flask --app hep
STAMP  := $(VENV)/.installed-stamp
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

MO     := hep/translations/es/LC_MESSAGES/messages.mo

.PHONY: install run test test-sqlite test-postgres chromium lint bench clean translations

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) $(MO)

# The compiled Spanish catalogue is built here, never committed (.gitignore: *.mo).
$(MO): hep/translations/es/LC_MESSAGES/messages.po $(STAMP)
	$(VENV)/bin/pybabel compile -d hep/translations

# For developers after changing text: re-extract every _() / ngettext / _l and update the .po.
translations: $(STAMP)
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k ngettext:1,2 \
	  -o hep/translations/messages.pot .
	$(VENV)/bin/pybabel update --no-fuzzy-matching -i hep/translations/messages.pot \
	  -d hep/translations

run: install
	$(FLASK) db upgrade
	$(FLASK) content sync
	$(FLASK) vapid
	$(FLASK) demo
	$(FLASK) run --host 127.0.0.1 --port 5000

# Debian's Chromium for the browser tests (Playwright drives /usr/bin/chromium; it never
# downloads a browser of its own).
chromium:
	@test -x /usr/bin/chromium || { \
	  apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    chromium fonts-dejavu-core fonts-liberation >/dev/null; }

# The whole suite on SQLite, then on PostgreSQL when HEP_TEST_DATABASE_URL is set.
test: install chromium
	env -u HEP_TEST_DATABASE_URL $(PY) -m pytest -q -p no:cacheprovider
	@if [ -n "$$HEP_TEST_DATABASE_URL" ]; then \
	  echo "--- again on PostgreSQL ($$HEP_TEST_DATABASE_URL)"; \
	  $(PY) -m pytest -q -p no:cacheprovider; \
	fi

test-sqlite: install chromium
	env -u HEP_TEST_DATABASE_URL $(PY) -m pytest -q

test-postgres: install chromium
	HEP_TEST_DATABASE_URL=$(PG_URL) $(PY) -m pytest -q

lint: install
	$(VENV)/bin/ruff check hep tests bench
	$(VENV)/bin/ruff format --check hep tests bench

bench: install
	$(PY) -m bench

clean:
	rm -rf $(VENV) instance/hep.sqlite3* instance/screenshots

# Until the first release, the schema is one migration: rewrite it from hep/models.py.
schema: install
	rm -f hep/migrations/versions/0001_initial_schema.py
	rm -rf /tmp/hep-schema && mkdir -p /tmp/hep-schema
	HEP_INSTANCE_PATH=/tmp/hep-schema $(FLASK) db revision -m "initial schema" --rev-id 0001
	$(VENV)/bin/ruff check -q --fix hep/migrations/versions
	$(VENV)/bin/ruff format -q hep/migrations/versions

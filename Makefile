# Two commands matter: `make run` (everything, demo on SQLite) and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
export DEBUG ?= 1

.PHONY: run test test-stress lint setup browser messages messages-update ci clean extension

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements-dev.txt
	touch $(STAMP)

setup: $(STAMP) messages
	$(PY) manage.py migrate --noinput
	$(PY) manage.py createcachetable
	$(PY) manage.py ensure_schedules

messages: $(STAMP)
	scripts/ensure-system-packages gettext
	$(PY) manage.py compilemessages --ignore=.venv >/dev/null

## make messages-update: refresh the catalogs from the code. No source locations
## (so parallel branches merge without conflicts over line numbers), no obsolete entries.
messages-update: $(STAMP)
	$(PY) manage.py makemessages -l ru -l en --no-location --no-obsolete --ignore=.venv \
		--ignore=sandbox --ignore=bench --ignore=tests --ignore='extension/*.*' --ignore=scripts

browser:
	scripts/ensure-system-packages chromium chromium-l10n prometheus

## make extension: build the browser extension (var/extension/dist/, served at /extension/).
extension: $(STAMP) browser
	scripts/build-extension

## make run: set up and run the portal, worker and emulators with demo data.
run: setup
	$(PY) manage.py demo_superuser
	@if $(PY) manage.py help sandbox_seed >/dev/null 2>&1; then $(PY) manage.py sandbox_seed; fi
	$(PY) manage.py serve_demo

## make test: the whole suite (DATABASE_URL selects SQLite or PostgreSQL), in
## TEST_PROCESSES parallel processes (pytest-xdist; most tests wait on HTTP,
## so more processes than cores pays). A file stays in one process.
TEST_PROCESSES ?= 4
test: $(STAMP) messages browser
	$(PY) -m pytest -n $(TEST_PROCESSES) --dist loadfile

## make test-stress: the suite three times in a row while stress-ng keeps
## every core busy (a busy machine must not fail it); not part of `make test`.
test-stress: $(STAMP) messages browser
	scripts/ensure-system-packages stress-ng
	scripts/test-stress

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

clean:
	rm -rf $(VENV) var staticfiles db.sqlite3*

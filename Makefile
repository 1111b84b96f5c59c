# Targets used by developers and by .ci/run alike.
PY ?= .venv/bin/python
VENV_BIN ?= .venv/bin

.PHONY: install test lint demo messages bench

install:
	python3 -m venv .venv && $(VENV_BIN)/pip install -e ".[test]"
	$(VENV_BIN)/civicbudget tally --warm

test:
	$(VENV_BIN)/pytest

lint:
	$(VENV_BIN)/ruff check src tests benchmarks scripts
	$(VENV_BIN)/lint-imports
	$(VENV_BIN)/civicbudget manage makemigrations --check --dry-run

demo:
	$(VENV_BIN)/civicbudget demo

messages:
	cd src/civicbudget && CIVICBUDGET_DATA_DIR=$${CIVICBUDGET_DATA_DIR:-$(abspath civicbudget-data)} $(abspath $(VENV_BIN))/django-admin makemessages -l zh_Hans --add-location file --no-obsolete --settings=civicbudget.settings -i "tally/*" -i "textmatch/*" -i "ledger/*"
	$(VENV_BIN)/python scripts/messages.py

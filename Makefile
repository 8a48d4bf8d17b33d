# Two commands do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# The napari plugin's extra, installed for the tests only (`make demo` does without it).
PLUGIN := $(VENV)/.installed-napari
# A virtual screen for the napari canvas test, and the xcb libraries PyQt5's platform plugin needs.
SCREEN := xvfb libxcb-icccm4 libxcb-keysyms1 libxcb-xinerama0 libxcb-image0 libxcb-render-util0 \
          libxcb-randr0 libxcb-shape0 libxcb-xfixes0 libxcb-xkb1 libxkbcommon-x11-0

.PHONY: demo test install bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# As root on a Debian machine without xvfb-run (CI's fresh machine), install the virtual screen too;
# elsewhere the canvas test is skipped and says why.
$(PLUGIN): $(STAMP)
	$(PY) -m pip install --quiet -e '.[test,napari]'
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && ! command -v xvfb-run >/dev/null; then \
		echo "installing a virtual screen for the napari canvas test: $(SCREEN)"; \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			$(SCREEN) >/dev/null; } || echo "note: the virtual screen did not install; the canvas test will be skipped"; \
	fi
	touch $(PLUGIN)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/hypseg demo

test: $(PLUGIN)
	$(PY) -m pytest -q

bench: $(STAMP)
	$(VENV)/bin/hypseg bench speed

clean:
	rm -rf $(VENV) hypseg-demo .pytest_cache

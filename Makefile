# edgenes: the two commands of the README, and the gates CI runs.
#   make reproduce   install everything into .venv and regenerate the paper's tables and figures (quick preset, embedded data)
#   make test        install everything into .venv and run every gate and test (what .ci/run runs)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PRESET ?= quick
UV_VERSION := 0.13.9

.PHONY: install reproduce demo test gates readme site docs clean-venv

$(BIN)/.installed: requirements.lock setup.py settings.ini
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), f"edgenes needs Python >= 3.11, this is {sys.version}"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@# uv installs the pinned lock in about 20 s where pip takes about 100 s (2-core AMD EPYC, measured); pip is the fallback.
	@# --compile-bytecode: write the .pyc files once here, as pip does by default; without them, where PYTHONDONTWRITEBYTECODE
	@# is set, every process that imports torch, pandas and papermill compiles them again (measured: 25 CPU-s instead of 10).
	( $(BIN)/python -m pip install --quiet --disable-pip-version-check --no-compile uv==$(UV_VERSION) && \
	  $(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -r requirements.lock && \
	  $(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e . ) || \
	( echo "uv failed: installing with pip" && \
	  $(BIN)/python -m pip install --quiet --disable-pip-version-check --no-compile -r requirements.lock && \
	  $(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e . )
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 > /dev/null
	touch $@

install: $(BIN)/.installed

# The main job: every table and figure of the paper (nbs/paper/) through papermill, into figures/$(PRESET)/.
reproduce: install
	$(BIN)/edgenes-reproduce --preset $(PRESET) --out_dir figures

# The end-to-end demo of the foundation: search alpha*, retrain it, print its metrics.
demo: install
	$(BIN)/edgenes-demo --preset $(PRESET) --out_dir figures/demo

# nbdev-ci's gates, in order, then the notebooks' own tests and pytest.
gates: install
	@before="$$(git status --porcelain; git diff | md5sum)"; \
	 PATH="$(CURDIR)/$(BIN):$$PATH" nbdev_clean && PATH="$(CURDIR)/$(BIN):$$PATH" nbdev_export; \
	 after="$$(git status --porcelain; git diff | md5sum)"; \
	 if [ "$$before" != "$$after" ]; then echo "nbdev_clean or nbdev_export changed files: commit the notebooks clean and in sync with edgenes/"; git status --porcelain; exit 1; fi
	@echo "gates: nbdev_clean and nbdev_export change nothing"

# install, gates, nbdev_test and pytest, each timed, with a summary at the end (tools/run_tests.py).
test:
	$(PYTHON) tools/run_tests.py

# README.md is generated from nbs/index.ipynb (without Quarto).
readme: install
	$(BIN)/python tools/make_readme.py

# The docs site as static HTML without Quarto, into _site/ (open _site/index.html, or serve it:
# python3 -m http.server -d _site): MathML for the TeX, the library notebooks' outputs (executed once per version of the
# notebook and the package, kept in .cache/site-outputs/; make test keeps them too), search, contents, previous/next.
# Paper pages show the outputs and figures of the last quick batch. Measured on 2 cores: 60 s cold, 9 s warm.
site: install
	$(BIN)/python tools/build_site.py --out _site --preset quick

# The docs site with nbdev and Quarto (where Quarto is installed: https://quarto.org), into _docs/.
docs: install
	PATH="$(CURDIR)/$(BIN):$$PATH" nbdev_docs

clean-venv:
	rm -rf $(VENV)

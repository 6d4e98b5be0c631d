"""A test double of gcloud (and bq) that keeps a model Google Cloud project's state in a
JSON file and enforces what Google documents about a first deploy: each rule in `_rules.py`
cites the page it comes from. Deploy plans run against it as real bash scripts, with this
folder's `bin/` first on PATH (`_project.ModelProject.run`), so the plans are tested as
they are run.

It is a model, not Google: it knows only the commands the plans use, the roles they grant
and the permissions those roles hold (`_iam.py`); what it cannot know is said in
docs/deploy.md ("Checked only offline"). Nothing is imported here: each call of the double
is a process of its own, started with `python -S`, and starts faster for it.
"""

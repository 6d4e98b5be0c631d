"""Tests of shared/processors/: notify (FCM), bigquery and deploy_staging (Cloud Build)."""

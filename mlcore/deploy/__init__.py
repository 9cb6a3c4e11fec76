"""Deployment: choosing how predictions reach people, batch scoring and the dashboards over it.

:mod:`mlcore.deploy.advisor` recommends batch, online or streaming deployment;
:mod:`mlcore.deploy.batch` scores rows in bulk into the database; :mod:`mlcore.deploy.dashboard`
answers the dashboard's questions with SQL aggregations over complete batches.
"""

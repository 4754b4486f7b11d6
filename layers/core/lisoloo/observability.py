"""The Powertools logger, tracer and metrics every function shares.

Service name and namespace come from POWERTOOLS_SERVICE_NAME / POWERTOOLS_METRICS_NAMESPACE.
"""

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
# Only what this code calls: AWS (botocore) and carriers and webhooks (http.client). The default,
# every library X-Ray knows, imports each one that happens to be installed: ~0.2 s of cold start.
tracer = Tracer(patch_modules=["botocore", "httplib"])
metrics = Metrics()

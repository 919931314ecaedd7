"""DatabricksComputeAdapter: the heavy path as an Azure Databricks job (Jobs API 2.2).

`deploy_job` creates (or resets) one job, "udo-large" by default: a spark_python_task
running ``cloud/azure/databricks/udo_job.py`` with the udo wheel installed, both workspace
files under ``/Workspace/Shared/udo`` (Runtime 15+ refuses libraries from the DBFS root),
on a single-node job cluster carrying udo's settings as its environment, or on an
existing cluster (whose environment is the cluster's own). Data Factory's ``udo-large``
runs this same job (a ``DatabricksJob`` activity). Its job-level parameters (`queue`,
`dataset`, `batch`, `run_id`, `max_runs`, `engine`) are pushed to the script's command
line; `submit` is ``jobs/run-now`` with those parameters, `state` reads ``jobs/runs/get``
(and the failed task's ``runs/get-output`` for the job's own error text), `cancel` is
``jobs/runs/cancel``. ``cloud/azure/databricks/job.json`` is `job_definition()` of the
default spec, committed so the definition can be reviewed and diffed.

Authentication: a personal access token (`UDO_AZURE__DATABRICKS__TOKEN`), or else Azure
AD through azure-identity's DefaultAzureCredential (managed identity, service principal
environment variables, or the Azure CLI). No token appears in a message, log or repr.
"""

from __future__ import annotations

import importlib.metadata
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from udo.errors import ConfigError, TerminalError, UdoError
from udo.ports.compute import (
    ComputeError,
    ComputeJob,
    ComputeRunNotFound,
    ComputeService,
    ComputeState,
    ComputeUnavailable,
    InvalidComputeJob,
    RunState,
    SubmittedRun,
    run_id,
)

if TYPE_CHECKING:
    from databricks.sdk import WorkspaceClient
    from databricks.sdk.service.jobs import JobSettings, Run

    from udo.config import Settings

AZURE_DATABRICKS_SCOPE = "2ff814a6-3304-4ab8-85cb-cd0e6f879c1d/.default"
"""The Azure AD scope of the Azure Databricks resource (the same in every tenant)."""

JOB_PARAMETERS: dict[str, str] = {
    "queue": "large-queue",
    "dataset": "",
    "batch": "",
    "run_id": "",
    "max_runs": "",
    "engine": "",
}
"""The job's parameters and their defaults; an empty value means "not given"."""

RUNTIME_PACKAGES: tuple[str, ...] = (
    "azure-storage-blob==12.31.1",
    "azure-storage-queue==12.18.1",
    "azure-storage-file-datalake==12.26.1",
    "azure-identity==1.27.0",
    "PyMySQL==1.2.4",
)
"""What the job needs beyond the wheel's own dependencies (the [azure] and [mysql] pins):
the lake and the queues on Azure Storage, the metadata store on Azure MySQL."""


def udo_version() -> str:
    """The installed udo's version (the wheel's name depends on it)."""
    try:
        return importlib.metadata.version("udo")
    except importlib.metadata.PackageNotFoundError:  # running from a source tree
        return "0.0.0"


DEFAULT_ARTIFACTS = "/Workspace/Shared/udo"
"""Workspace folder of ``udo_job.py`` and the udo wheel (``databricks workspace import``)."""
DEFAULT_ENV: Mapping[str, str] = {"UDO_CLOUD": "azure"}
"""The job cluster's environment when none is given."""


def _in_dbfs_root(path: str) -> bool:
    """Whether `path` is in the DBFS root (``dbfs:/...``, not a Unity Catalog volume)."""
    lowered = path.lower()
    return lowered.startswith("dbfs:/") and not lowered.startswith("dbfs:/volumes/")


def _runtime_major(spark_version: str) -> int | None:
    head = spark_version.split(".", 1)[0]
    return int(head) if head.isdigit() else None


@dataclass(frozen=True)
class DatabricksJobSpec:
    """What `deploy_job` deploys; the defaults give ``cloud/azure/databricks/job.json``.

    `artifacts` is the workspace folder holding ``udo_job.py`` and the wheel (see the
    README there). Without `existing_cluster_id`, each run gets a single-node job cluster
    (the Spark engine stages files on the driver's disk, so it needs one node; see the
    report on Delta-native writes) whose environment is `env`: the udo settings
    (``UDO_...``), secrets as ``{{secrets/<scope>/<key>}}`` references. An existing
    cluster keeps its own environment (a task cannot set one), so `env` is refused with it.

    `ConfigError` for a spec Databricks would take and then not run as meant: `env` with
    an existing cluster (ignored there), or the wheel in the DBFS root on a Runtime 15+
    job cluster (library installs from the DBFS root are disabled from Runtime 15.0 on).
    """

    name: str = "udo-large"
    artifacts: str = DEFAULT_ARTIFACTS
    wheel: str | None = None
    """Full path of the wheel; default ``<artifacts>/udo-<version>-py3-none-any.whl``."""
    queue: str = "large-queue"
    existing_cluster_id: str | None = None
    spark_version: str = "15.4.x-scala2.12"
    """Databricks Runtime 15.4 LTS: Python 3.11, as udo requires."""
    node_type_id: str = "Standard_D8ds_v5"
    env: Mapping[str, str] | None = None
    """The job cluster's environment; None: `DEFAULT_ENV` (``UDO_CLOUD=azure``)."""
    packages: tuple[str, ...] = RUNTIME_PACKAGES
    timeout_seconds: int = 6 * 3600
    max_concurrent_runs: int = 1
    """Further runs wait in the job's queue (not skipped)."""

    def __post_init__(self) -> None:
        if self.existing_cluster_id and self.env is not None:
            raise ConfigError(
                f"the job runs on the existing cluster {self.existing_cluster_id}, whose "
                "environment variables are set on the cluster itself: set the UDO_... "
                "settings there (cluster configuration, Advanced options > Spark > "
                "Environment variables) instead of giving the job an environment"
            )
        major = _runtime_major(self.spark_version)
        # an existing cluster's runtime is not known here: only a job cluster's is checked
        on_15 = not self.existing_cluster_id and major is not None and major >= 15
        if on_15 and _in_dbfs_root(self.wheel_path()):
            raise ConfigError(
                f"{self.wheel_path()}: Databricks Runtime {major} does not install "
                "libraries from the DBFS root (disabled from Runtime 15.0 on); put "
                f"udo_job.py and the wheel in workspace files ({DEFAULT_ARTIFACTS}, "
                "with `databricks workspace import`) or a Unity Catalog volume "
                "(/Volumes/...)"
            )

    def python_file(self) -> str:
        """Where the job's entry point (``udo_job.py``) is in the workspace."""
        return f"{self.artifacts.rstrip('/')}/udo_job.py"

    def wheel_path(self) -> str:
        """Where the wheel is in the workspace."""
        return self.wheel or f"{self.artifacts.rstrip('/')}/udo-{udo_version()}-py3-none-any.whl"

    def cluster_env(self) -> dict[str, str]:
        """The job cluster's environment variables, sorted by name."""
        return dict(sorted((DEFAULT_ENV if self.env is None else self.env).items()))


def job_settings(spec: DatabricksJobSpec | None = None) -> JobSettings:
    """The SDK's JobSettings for `spec`: what ``jobs/create`` and ``jobs/reset`` take."""
    from databricks.sdk.service import compute, jobs

    spec = spec or DatabricksJobSpec()
    defaults = {**JOB_PARAMETERS, "queue": spec.queue}
    arguments: list[str] = []
    for name in JOB_PARAMETERS:
        arguments += [f"--{name.replace('_', '-')}", f"{{{{job.parameters.{name}}}}}"]
    libraries = [compute.Library(whl=spec.wheel_path())] + [
        compute.Library(pypi=compute.PythonPyPiLibrary(package=p)) for p in spec.packages
    ]
    task = jobs.Task(
        task_key="clean",
        description="drain a queue, or clean one run's batch, with udo's heavy engine",
        spark_python_task=jobs.SparkPythonTask(
            python_file=spec.python_file(), parameters=arguments
        ),
        libraries=libraries,
        timeout_seconds=spec.timeout_seconds,
        max_retries=0,  # the queue retries, with its poison queue
    )
    job_clusters: list[jobs.JobCluster] | None = None
    if spec.existing_cluster_id:
        task.existing_cluster_id = spec.existing_cluster_id
    else:
        task.job_cluster_key = "udo"
        job_clusters = [
            jobs.JobCluster(
                job_cluster_key="udo",
                new_cluster=compute.ClusterSpec(
                    spark_version=spec.spark_version,
                    node_type_id=spec.node_type_id,
                    num_workers=0,
                    spark_conf={
                        "spark.databricks.cluster.profile": "singleNode",
                        "spark.master": "local[*, 4]",
                    },
                    custom_tags={"ResourceClass": "SingleNode", "app": "udo"},
                    spark_env_vars=spec.cluster_env(),
                ),
            )
        ]
    return jobs.JobSettings(
        name=spec.name,
        description="udo heavy path: cleans large batches (large-queue) with Spark",
        tags={"app": "udo"},
        tasks=[task],
        job_clusters=job_clusters,
        parameters=[jobs.JobParameterDefinition(name=k, default=v) for k, v in defaults.items()],
        max_concurrent_runs=spec.max_concurrent_runs,
        queue=jobs.QueueSettings(enabled=True),
        format=jobs.Format.MULTI_TASK,
    )


def job_definition(spec: DatabricksJobSpec | None = None) -> dict[str, Any]:
    """`job_settings` as the JSON body of ``jobs/create`` (``job.json``)."""
    body: dict[str, Any] = job_settings(spec).as_dict()
    return body


def job_parameters(job: ComputeJob) -> dict[str, str]:
    """The ``job_parameters`` of ``run-now`` for `job` (every one, "" when not given)."""
    return {
        "queue": job.queue,
        "dataset": job.dataset or "",
        "batch": job.batch_id or "",
        "run_id": job.run_id or "",
        "max_runs": "" if job.max_runs is None else str(job.max_runs),
        "engine": job.engine or "",
    }


_PENDING = {"QUEUED", "PENDING", "BLOCKED", "WAITING_FOR_RETRY", "WAITING"}
_RUNNING = {"RUNNING", "TERMINATING"}
_RESULTS: dict[str, ComputeState] = {
    "SUCCESS": ComputeState.SUCCEEDED,
    "SUCCESS_WITH_FAILURES": ComputeState.SUCCEEDED,
    "FAILED": ComputeState.FAILED,
    "TIMEDOUT": ComputeState.FAILED,
    "UPSTREAM_FAILED": ComputeState.FAILED,
    "CANCELED": ComputeState.CANCELLED,
    "UPSTREAM_CANCELED": ComputeState.CANCELLED,
    "MAXIMUM_CONCURRENT_RUNS_REACHED": ComputeState.SKIPPED,
    "EXCLUDED": ComputeState.SKIPPED,
    "DISABLED": ComputeState.SKIPPED,
}


def _value(enum: Any) -> str | None:
    return None if enum is None else str(getattr(enum, "value", enum))


def map_run_state(run: Run, task_error: str | None = None) -> RunState:
    """The port's state of a Jobs API run (life_cycle_state, result_state, termination).

    `task_error` is the failed task's own error (``runs/get-output``), preferred to the
    platform's message when the run failed.
    """
    state = run.state
    life = _value(state.life_cycle_state) if state else None
    result = _value(state.result_state) if state else None
    status = run.status
    v2 = _value(status.state) if status else None
    term = status.termination_details if status else None
    details = {
        k: v
        for k, v in {
            "life_cycle_state": life,
            "result_state": result,
            "status": v2,
            "termination_code": _value(term.code) if term else None,
            "termination_type": _value(term.type) if term else None,
        }.items()
        if v is not None
    }
    messages = [
        m for m in (state.state_message if state else None, term.message if term else None) if m
    ]
    message = "; ".join(dict.fromkeys(messages)) or None

    def done(kind: ComputeState, text: str | None) -> RunState:
        return RunState(state=kind, message=text, details=details)

    if life == "TERMINATED" or (life is None and v2 == "TERMINATED"):
        kind = _RESULTS.get(result or "")
        if kind is None and term is not None:
            kind = {
                "SUCCESS": ComputeState.SUCCEEDED,
                "CLIENT_ERROR": ComputeState.FAILED,
                "INTERNAL_ERROR": ComputeState.FAILED,
                "CLOUD_FAILURE": ComputeState.FAILED,
            }.get(_value(term.type) or "")
            if _value(term.code) == "CANCELED":
                kind = ComputeState.CANCELLED
        if kind is None:
            return done(ComputeState.FAILED, message or f"ended with result {result!r}")
        if kind == ComputeState.FAILED:
            return done(kind, task_error or message or f"run {result or 'failed'}")
        return done(kind, None if kind == ComputeState.SUCCEEDED else message)
    if life == "INTERNAL_ERROR":
        return done(ComputeState.FAILED, task_error or message or "Databricks internal error")
    if life == "SKIPPED":
        return done(ComputeState.SKIPPED, message or "skipped")
    if life in _RUNNING or (life is None and v2 in _RUNNING):
        return done(ComputeState.RUNNING, None)
    if life in _PENDING or (life is None and v2 in _PENDING):
        return done(ComputeState.PENDING, message)
    # a state this SDK does not know yet: not an end, so keep following it
    return done(ComputeState.PENDING, f"unknown Databricks run state {life or v2!r}")


def _failed_tasks(run: Run) -> list[Any]:
    failed = []
    for task in run.tasks or []:
        s = task.state
        if s is None or task.run_id is None:
            continue
        if _value(s.life_cycle_state) == "INTERNAL_ERROR" or _value(s.result_state) in (
            "FAILED",
            "TIMEDOUT",
        ):
            failed.append(task)
    return failed


def _azure_ad_strategy() -> Any:
    """A databricks-sdk credentials strategy taking tokens from DefaultAzureCredential."""
    from databricks.sdk.credentials_provider import CredentialsStrategy

    class AzureIdentityStrategy(CredentialsStrategy):
        """Bearer tokens for the Azure Databricks resource, refreshed 5 min before expiry."""

        def auth_type(self) -> str:
            return "udo-azure-identity"

        def __call__(self, cfg: Any) -> Any:
            from azure.identity import DefaultAzureCredential

            credential = DefaultAzureCredential()
            lock = threading.Lock()
            cached: list[Any] = []

            def headers() -> dict[str, str]:
                with lock:
                    if not cached or cached[0].expires_on - 300 < time.time():
                        cached[:] = [credential.get_token(AZURE_DATABRICKS_SCOPE)]
                    return {"Authorization": f"Bearer {cached[0].token}"}

            return headers

    return AzureIdentityStrategy()


def workspace_client(
    host: str,
    token: str | None,
    *,
    retry_timeout_seconds: int = 120,
    http_timeout_seconds: int = 60,
) -> WorkspaceClient:
    """A WorkspaceClient for `host`: the token if given, else Azure AD (azure-identity).

    The SDK retries throttling (429/503) and dropped connections within
    `retry_timeout_seconds`; past it the adapter reports `ComputeUnavailable`.
    """
    from databricks.sdk import WorkspaceClient
    from databricks.sdk.config import Config

    common: dict[str, Any] = {
        "host": host,
        "retry_timeout_seconds": retry_timeout_seconds,
        "http_timeout_seconds": http_timeout_seconds,
        "product": "udo",
        "product_version": udo_version(),
    }
    try:
        if token:
            config = Config(auth_type="pat", token=token, **common)
        else:
            config = Config(credentials_strategy=_azure_ad_strategy(), **common)
    except ValueError as exc:
        message = str(exc).replace(token, "***") if token else str(exc)
        raise ConfigError(f"Databricks workspace {host}: {message.splitlines()[0]}") from None
    return WorkspaceClient(config=config)


class DatabricksComputeAdapter(ComputeService):
    """Cleaning jobs as runs of one Databricks job (see the module docstring)."""

    remote = True

    def __init__(
        self,
        client: WorkspaceClient,
        *,
        job_id: int | None = None,
        poll_seconds: float = 10.0,
        host: str | None = None,
        secret: str | None = None,
    ) -> None:
        self.client = client
        self.job_id = job_id
        self.poll_seconds = poll_seconds
        self.host = host or str(client.config.host)
        self._secret = secret

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        retry_timeout_seconds: int = 120,
        http_timeout_seconds: int = 60,
    ) -> DatabricksComputeAdapter:
        """The adapter for ``settings.azure.databricks`` (host, token or Azure AD, job id)."""
        db = settings.azure.databricks
        if not db.host:
            raise ConfigError(
                "Databricks needs a workspace: set UDO_AZURE__DATABRICKS__HOST "
                "(https://adb-<id>.<n>.azuredatabricks.net)"
            )
        token = db.token.get_secret_value() if db.token is not None else None
        client = workspace_client(
            db.host,
            token,
            retry_timeout_seconds=retry_timeout_seconds,
            http_timeout_seconds=http_timeout_seconds,
        )
        return cls(
            client, job_id=db.job_id, poll_seconds=db.poll_seconds, host=db.host, secret=token
        )

    def __repr__(self) -> str:
        return f"DatabricksComputeAdapter(host={self.host!r}, job_id={self.job_id!r})"

    # ------------------------------------------------------------ errors
    def _scrub(self, text: str) -> str:
        return text.replace(self._secret, "***") if self._secret else text

    def _error(self, exc: Exception, action: str, missing: UdoError | None = None) -> UdoError:
        """The udo error for an SDK or network error of `action`."""
        import requests
        from databricks.sdk.errors import platform as dbx
        from databricks.sdk.errors.base import DatabricksError

        text = self._scrub(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        where = f"Databricks {action} on {self.host}"
        if isinstance(exc, dbx.Unauthenticated | dbx.PermissionDenied):
            return ConfigError(
                f"{where} was refused ({text}): check UDO_AZURE__DATABRICKS__TOKEN, or the "
                "Azure AD identity's access to the workspace"
            )
        if isinstance(exc, dbx.NotFound) or (
            isinstance(exc, dbx.InvalidParameterValue) and "does not exist" in text
        ):
            return missing or TerminalError(f"{where}: not found ({text})")
        if isinstance(
            exc,
            dbx.TooManyRequests
            | dbx.InternalError
            | dbx.TemporarilyUnavailable
            | dbx.DeadlineExceeded
            | dbx.Aborted,
        ):
            return ComputeUnavailable(f"{where} failed, try again later: {text}")
        if isinstance(exc, dbx.BadRequest | dbx.ResourceConflict | dbx.NotImplemented):
            return InvalidComputeJob(f"{where} was rejected: {text}")
        if isinstance(exc, DatabricksError):
            return ComputeError(f"{where} failed: {text}")
        if isinstance(exc, TimeoutError | requests.RequestException | ConnectionError):
            return ComputeUnavailable(f"{where}: the workspace did not answer in time ({text})")
        return ComputeError(f"{where} failed: {type(exc).__name__}: {text}")

    def _no_job(self) -> ConfigError:
        return ConfigError(
            f"Databricks job {self.job_id} does not exist on {self.host}: deploy it "
            "(udo azure deploy-databricks) and set UDO_AZURE__DATABRICKS__JOB_ID"
        )

    @staticmethod
    def _numeric(run: SubmittedRun | str) -> int:
        rid = run_id(run)
        if not rid.isdigit():
            raise ComputeRunNotFound(rid)
        return int(rid)

    # -------------------------------------------------------------- port
    def submit(self, job: ComputeJob, *, idempotency_key: str | None = None) -> SubmittedRun:
        if not isinstance(job, ComputeJob):
            raise InvalidComputeJob(f"submit takes a ComputeJob, not {type(job).__name__}")
        if idempotency_key is not None and not 1 <= len(idempotency_key) <= 64:
            raise InvalidComputeJob("an idempotency key has 1 to 64 characters")
        if self.job_id is None:
            raise ConfigError(
                "no Databricks job to run: deploy it (udo azure deploy-databricks) and set "
                "UDO_AZURE__DATABRICKS__JOB_ID"
            )
        try:
            waiter = self.client.jobs.run_now(
                self.job_id,
                job_parameters=job_parameters(job),
                idempotency_token=idempotency_key,
            )
        except Exception as exc:
            raise self._error(exc, f"run-now of job {self.job_id}", self._no_job()) from exc
        response = waiter.response
        if response is None or response.run_id is None:
            raise ComputeError(f"Databricks run-now of job {self.job_id} returned no run id")
        return SubmittedRun(id=str(response.run_id), job=job)

    def state(self, run: SubmittedRun | str) -> RunState:
        number = self._numeric(run)
        try:
            found = self.client.jobs.get_run(number)
        except Exception as exc:
            raise self._error(exc, f"runs/get {number}", ComputeRunNotFound(str(number))) from exc
        task_error = None
        failed = _failed_tasks(found)
        if failed:
            task_error = self._task_error(failed[0])
        return map_run_state(found, task_error)

    def _task_error(self, task: Any) -> str | None:
        """The failed task's own error text (best effort: None when it cannot be read)."""
        try:
            output = self.client.jobs.get_run_output(task.run_id)
        except Exception as exc:  # the run's state is still worth returning without it
            detail = self._scrub(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            return f"task {task.task_key} failed (its output could not be read: {detail})"
        if not output.error:
            return None
        return self._scrub(f"task {task.task_key}: {output.error}")

    def cancel(self, run: SubmittedRun | str) -> None:
        number = self._numeric(run)
        try:
            self.client.jobs.cancel_run(number)
        except Exception as exc:
            raise self._error(
                exc, f"runs/cancel {number}", ComputeRunNotFound(str(number))
            ) from exc

    # ------------------------------------------------------------ deploy
    def deploy_job(
        self, spec: DatabricksJobSpec | None = None, *, job_id: int | None = None
    ) -> int:
        """Create the udo job, or reset it to `spec` if it exists; return its job id.

        The job is the one `job_id` (or the adapter's) names, else the only job named
        `spec.name`; with none, a new job is created. The adapter then submits to it.
        """
        spec = spec or DatabricksJobSpec()
        new_settings = job_settings(spec)
        target = job_id if job_id is not None else self.job_id
        try:
            if target is None:
                same = [j.job_id for j in self.client.jobs.list(name=spec.name)]
                if len(same) > 1:
                    raise ConfigError(
                        f"{len(same)} Databricks jobs are named {spec.name!r} ({same}): set "
                        "UDO_AZURE__DATABRICKS__JOB_ID to the one udo should use"
                    )
                target = same[0] if same else None
            if target is None:
                created = self.client.jobs.create(
                    name=new_settings.name,
                    description=new_settings.description,
                    tags=new_settings.tags,
                    tasks=new_settings.tasks,
                    job_clusters=new_settings.job_clusters,
                    parameters=new_settings.parameters,
                    max_concurrent_runs=new_settings.max_concurrent_runs,
                    queue=new_settings.queue,
                    format=new_settings.format,
                )
                if created.job_id is None:
                    raise ComputeError("Databricks jobs/create returned no job id")
                target = created.job_id
            else:
                self.client.jobs.reset(target, new_settings)
        except UdoError:
            raise
        except Exception as exc:
            missing = ConfigError(
                f"Databricks job {target} does not exist on {self.host}: unset "
                "UDO_AZURE__DATABRICKS__JOB_ID to create a new one"
            )
            raise self._error(exc, f"deploy of job {spec.name!r}", missing) from exc
        self.job_id = target
        return target

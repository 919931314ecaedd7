"""Azure Data Factory: deploy the factory (`deploy`) and run udo on it
(`AzureDataFactoryOrchestrator`).

"Clean Data" queues the run, then `AzureDataFactoryOrchestrator.start` runs the route's
pipeline now (``pipelines.create_run``) with the run's dataset, batch, id and marts, keeps
the pipeline run id in a transition of the udo run (``datafactory udo-small run <id>``),
and follows it in a background thread (``pipeline_runs.get`` every
``UDO_AZURE__DATAFACTORY__POLL_SECONDS``), moving the run and publishing run events as
the local worker does. The SDK is imported inside functions; every SDK error becomes an
`OrchestratorError` whose message carries the HTTP status and ARM's error code, never a
credential.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from udo.adapters.azure.datafactory_models import KINDS, PIPELINES, FactoryDefinition
from udo.config import DataFactorySettings, Settings
from udo.domain.run import TERMINAL, Run, RunStatus, StaleRun
from udo.errors import ConfigError, RunNotFound
from udo.orchestration.runs import event
from udo.ports.metadata import MetadataStore
from udo.ports.notifier import Notifier
from udo.ports.orchestrator import (
    ExternalRun,
    ExternalState,
    Orchestrator,
    OrchestratorError,
    OrchestratorRejected,
    OrchestratorUnavailable,
)

log = logging.getLogger(__name__)

ADF_STATES: dict[str, ExternalState] = {
    "Queued": "queued",
    "InProgress": "running",
    "Canceling": "running",
    "Succeeded": "succeeded",
    "Failed": "failed",
    "Cancelled": "cancelled",
}
"""Data Factory pipeline run statuses -> udo's view of an external run."""
FINAL: set[ExternalState] = {"succeeded", "failed", "cancelled"}
_DETAIL = re.compile(r"^datafactory (?P<pipeline>\S+) run (?P<run_id>\S+)$")


# ---------------------------------------------------------------- the client
def _require(settings: DataFactorySettings) -> tuple[str, str, str]:
    values = {
        "UDO_AZURE__DATAFACTORY__SUBSCRIPTION_ID": settings.subscription_id,
        "UDO_AZURE__DATAFACTORY__RESOURCE_GROUP": settings.resource_group,
        "UDO_AZURE__DATAFACTORY__FACTORY": settings.factory,
    }
    missing = [name for name, value in values.items() if not value]
    if missing:
        raise ConfigError(f"Azure Data Factory needs {', '.join(missing)}")
    return str(settings.subscription_id), str(settings.resource_group), str(settings.factory)


def management_client(
    settings: DataFactorySettings, credential: Any | None = None, **client_kwargs: Any
) -> Any:
    """A DataFactoryManagementClient on `settings.arm_endpoint`.

    `credential`: a TokenCredential (DefaultAzureCredential when None); `client_kwargs`
    go to the SDK pipeline (``connection_verify``, ``retry_total``, ...).
    """
    subscription, _, _ = _require(settings)
    from azure.mgmt.datafactory import DataFactoryManagementClient

    if credential is None:
        from azure.identity import DefaultAzureCredential

        credential = DefaultAzureCredential()
    return DataFactoryManagementClient(
        credential, subscription, base_url=settings.arm_endpoint, **client_kwargs
    )


def translate(exc: Exception, action: str) -> OrchestratorError:
    """The udo error for an SDK/transport error raised while doing `action`."""
    from azure.core.exceptions import (
        ClientAuthenticationError,
        HttpResponseError,
        ServiceRequestError,
        ServiceResponseError,
    )

    if isinstance(exc, HttpResponseError):
        status = exc.status_code
        code = getattr(exc.error, "code", None) or exc.reason or "error"
        text = str(getattr(exc.error, "message", "") or "").strip()[:300]
        where = f"{action}: Azure answered {status} {code}" + (f": {text}" if text else "")
        if isinstance(exc, ClientAuthenticationError) and status is None:
            return OrchestratorRejected(
                f"{action}: no Azure credential could get a token ({type(exc).__name__}); "
                "sign in (az login) or set a managed identity"
            )
        if status in (401, 403):
            return OrchestratorRejected(
                f"{where} (the identity needs the Data Factory Contributor role on the factory)"
            )
        if status == 404:
            return OrchestratorRejected(f"{where} (is the factory deployed? `udo azure deploy`)")
        if status is None or status == 429 or status >= 500:
            return OrchestratorUnavailable(where)
        return OrchestratorRejected(where)
    if isinstance(exc, ServiceRequestError | ServiceResponseError):
        return OrchestratorUnavailable(
            f"{action}: Azure Resource Manager could not be reached ({type(exc).__name__})"
        )
    if isinstance(exc, OrchestratorError):
        return exc
    return OrchestratorRejected(f"{action}: {type(exc).__name__}")


# ----------------------------------------------------------------- deploying
@dataclass(frozen=True)
class DeployStep:
    """One thing `deploy` did."""

    kind: str
    name: str
    action: str
    """created, updated, stopped (a trigger, to update it) or started."""

    def __str__(self) -> str:
        return f"{self.action:8} {self.kind}/{self.name}"


def _exists(get: Any, *args: Any) -> Any | None:
    from azure.core.exceptions import ResourceNotFoundError

    try:
        return get(*args)
    except ResourceNotFoundError:
        return None


def deploy(
    client: Any, settings: DataFactorySettings, definition: FactoryDefinition
) -> list[DeployStep]:
    """Create or update the factory and each resource of `definition` (linked services,
    datasets, pipelines, triggers, in that order), then start the triggers.

    Idempotent: running it again updates every resource in place. A started trigger is
    stopped before it is updated (Data Factory refuses to change a running one) and
    started again at the end. Raises an `OrchestratorError` on the first refusal.
    """
    _, rg, factory = _require(settings)
    steps: list[DeployStep] = []
    operations = {
        "linkedService": client.linked_services,
        "dataset": client.datasets,
        "pipeline": client.pipelines,
        "trigger": client.triggers,
    }
    action = f"deploying factory {factory}"
    try:
        if _exists(client.factories.get, rg, factory) is None:
            from azure.mgmt.datafactory.models import Factory, FactoryIdentity

            client.factories.create_or_update(
                rg,
                factory,
                Factory(
                    location=settings.location, identity=FactoryIdentity(type="SystemAssigned")
                ),
            )
            steps.append(DeployStep("factory", factory, "created"))
        for kind in KINDS:
            ops = operations[kind]
            for name in definition.names(kind):
                action = f"deploying {kind} {name}"
                existing = _exists(ops.get, rg, factory, name)
                started = getattr(getattr(existing, "properties", None), "runtime_state", None)
                if kind == "trigger" and started == "Started":
                    ops.begin_stop(rg, factory, name).result()
                    steps.append(DeployStep(kind, name, "stopped"))
                ops.create_or_update(rg, factory, name, definition.resources[kind][name])
                steps.append(DeployStep(kind, name, "updated" if existing else "created"))
        for name in definition.names("trigger"):
            action = f"starting trigger {name}"
            client.triggers.begin_start(rg, factory, name).result()
            steps.append(DeployStep("trigger", name, "started"))
    except Exception as exc:
        raise translate(exc, action) from exc
    return steps


# -------------------------------------------------------------- orchestrator
class AzureDataFactoryOrchestrator(Orchestrator):
    """Runs "Clean Data" on Data Factory (``udo-small`` / ``udo-large``) and follows it."""

    follows_runs = True

    def __init__(
        self,
        client: Any,
        *,
        resource_group: str,
        factory: str,
        metadata: MetadataStore,
        notifier: Notifier,
        poll_seconds: float = 15.0,
        background: bool = True,
    ) -> None:
        self.client = client
        self.resource_group = resource_group
        self.factory = factory
        self.metadata = metadata
        self.notifier = notifier
        self.poll_seconds = poll_seconds
        self.background = background
        self._started: dict[str, tuple[str, str]] = {}  # udo run id -> (pipeline, ADF run id)
        self._threads: dict[str, threading.Thread] = {}  # udo run id -> its follower
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._watcher: threading.Thread | None = None

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        metadata: MetadataStore,
        notifier: Notifier,
        credential: Any | None = None,
        **client_kwargs: Any,
    ) -> AzureDataFactoryOrchestrator:
        """The orchestrator of ``settings.azure.datafactory`` (DefaultAzureCredential when
        `credential` is None)."""
        df = settings.azure.datafactory
        _, rg, factory = _require(df)
        return cls(
            management_client(df, credential, **client_kwargs),
            resource_group=rg,
            factory=factory,
            metadata=metadata,
            notifier=notifier,
            poll_seconds=df.poll_seconds,
        )

    def __repr__(self) -> str:
        return f"AzureDataFactoryOrchestrator(factory={self.factory!r})"

    # ---------------------------------------------------------------- port
    def start(self, run: Run, *, marts: Sequence[str] = ()) -> Run:
        """Run the route's pipeline now with the run's dataset, batch, id and marts."""
        pipeline = PIPELINES[run.route]
        parameters = {
            "dataset": run.dataset,
            "batch": run.batch_id,
            "run_id": run.id,
            "marts": list(marts),
        }
        try:
            response = self.client.pipelines.create_run(
                self.resource_group, self.factory, pipeline, parameters=parameters
            )
        except Exception as exc:
            raise translate(exc, f"starting pipeline {pipeline} for run {run.id}") from exc
        adf_run = str(response.run_id)
        with self._lock:
            self._started[run.id] = (pipeline, adf_run)
        stored = self._record(run.id, pipeline, adf_run)
        log.info("run %s: Data Factory pipeline %s run %s started", run.id, pipeline, adf_run)
        if self.background:
            self._follow_in_background(stored)
        return stored

    def status(self, run: Run) -> ExternalRun | None:
        """The pipeline run of `run` as Data Factory reports it now."""
        ref = self._reference(run.id)
        if ref is None:
            return None
        return self._get(*ref)

    def follow(self, run: Run) -> Run:
        """Poll the pipeline run until it ends, mirroring it onto the udo run."""
        ref = self._reference(run.id)
        if ref is None:
            return self.metadata.get_run(run.id)
        pipeline, adf_run = ref
        while True:
            try:
                external = self._get(pipeline, adf_run)
            except OrchestratorUnavailable as exc:
                log.warning("run %s: %s; polling again", run.id, exc)
            except OrchestratorRejected as exc:
                external = ExternalRun(pipeline, adf_run, "failed", f"cannot follow it: {exc}")
                return self._mirror(run.id, external)
            else:
                current = self._mirror(run.id, external)
                if external.state in FINAL:
                    return current
            if self._closing.wait(self.poll_seconds):
                return self.metadata.get_run(run.id)

    def resume(self, *, watch: bool = False) -> int:
        """Follow, in the background, the QUEUED and RUNNING runs whose history names a
        pipeline run this factory started and that nobody here follows (their process is
        gone, or it was a CLI's). Returns how many were picked up now. With `watch`, keep
        looking every few polls until `close` (what the API process does)."""
        if not self.background:
            return 0
        resumed = 0
        for status in (RunStatus.QUEUED, RunStatus.RUNNING):
            for run in self.metadata.list_runs(status=status, limit=500):
                with self._lock:
                    if run.id in self._threads:
                        continue
                if self._reference(run.id) is None:
                    continue
                resumed += self._follow_in_background(run)
        if resumed:
            log.info("following %d unfinished Data Factory run(s) started elsewhere", resumed)
        if watch:
            with self._lock:
                if self._watcher is None and not self._closing.is_set():
                    self._watcher = threading.Thread(
                        target=self._watch, name="udo-adf-watch", daemon=True
                    )
                    self._watcher.start()
        return resumed

    def _watch(self) -> None:
        while not self._closing.wait(max(self.poll_seconds, 1.0) * 4):
            try:
                self.resume()
            except Exception:  # the metadata store hiccupped: try again next round
                log.exception("looking for Data Factory runs to follow failed")

    def close(self, timeout: float = 30.0) -> None:
        """Stop following; wait (up to `timeout` seconds in all) for the followers to notice.

        A follower inside a slow ARM call finishes that call first; past the timeout it is
        left to end with the process (the threads are daemons)."""
        with self._lock:  # no new follower starts once closing is set under the lock
            self._closing.set()
            threads = list(self._threads.values())
            if self._watcher is not None:
                threads.append(self._watcher)
        deadline = time.monotonic() + timeout
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        if any(thread.is_alive() for thread in threads):
            log.warning("Data Factory followers still in a call at shutdown; not waiting")

    # ------------------------------------------------------------ internals
    def _record(self, run_id: str, pipeline: str, adf_run: str) -> Run:
        """Keep the pipeline run id in a transition of the run (same status and stage)."""
        current = self.metadata.get_run(run_id)
        if current.status not in (RunStatus.QUEUED, RunStatus.RUNNING):
            log.warning(
                "run %s is %s already; pipeline run %s not recorded",
                run_id,
                current.status,
                adf_run,
            )
            return current
        return self.metadata.transition(
            run_id,
            current.status,
            stage=current.stage,
            detail=f"datafactory {pipeline} run {adf_run}",
        )

    def _reference(self, run_id: str) -> tuple[str, str] | None:
        with self._lock:
            ref = self._started.get(run_id)
        if ref is not None:
            return ref
        try:
            history = self.metadata.transitions(run_id)
        except RunNotFound:
            return None
        for transition in reversed(history):
            match = _DETAIL.match(transition.detail or "")
            if match:
                return match["pipeline"], match["run_id"]
        return None

    def _get(self, pipeline: str, adf_run: str) -> ExternalRun:
        try:
            found = self.client.pipeline_runs.get(self.resource_group, self.factory, adf_run)
        except Exception as exc:
            raise translate(exc, f"reading pipeline run {adf_run}") from exc
        raw = str(found.status or "")
        state = ADF_STATES.get(raw)
        if state is None:
            log.warning("pipeline run %s has an unknown status %r", adf_run, raw)
            state = "running"
        return ExternalRun(found.pipeline_name or pipeline, adf_run, state, found.message or "")

    def _follow_in_background(self, run: Run) -> int:
        """Start a follower for `run` unless one runs or the orchestrator is closing."""
        with self._lock:
            if self._closing.is_set() or run.id in self._threads:
                return 0
            thread = threading.Thread(
                target=self._follow_quietly, args=(run,), name=f"udo-adf-{run.id}", daemon=True
            )
            self._threads[run.id] = thread
            thread.start()
        return 1

    def _follow_quietly(self, run: Run) -> None:
        try:
            self.follow(run)
        except Exception:  # a thread has no caller: log it, the run keeps its last state
            log.exception("following run %s on Data Factory failed", run.id)
        finally:
            with self._lock:  # forget it: a long-running API follows many runs
                self._threads.pop(run.id, None)
                self._started.pop(run.id, None)

    def _mirror(self, run_id: str, external: ExternalRun) -> Run:
        """Move the udo run where the pipeline run is, never undoing the worker's states.

        The worker that cleans the batch (the Function's drain, the Databricks job) owns
        the run's outcome: it alone marks it SUCCEEDED, with the ledger. The pipeline's own
        end decides only for a run no worker has touched (its stage is still this
        follower's): a failed or cancelled pipeline fails it (its message stays queued, and
        the next drain retries it); a pipeline that succeeded without cleaning it (another
        drain held the message) puts it back to QUEUED for the next drain.
        """
        run = self.metadata.get_run(run_id)
        where = {"pipeline": external.pipeline, "pipeline_run_id": external.run_id}
        ours = f"datafactory {external.pipeline}"
        if run.status in TERMINAL or external.state == "queued":
            if run.status in TERMINAL and external.state in ("failed", "cancelled"):
                log.warning(
                    "run %s is %s but pipeline run %s %s: %s",
                    run_id,
                    run.status,
                    external.run_id,
                    external.state,
                    external.message,
                )
            return run
        if run.status == RunStatus.QUEUED:  # the pipeline has started (or even ended)
            try:
                run = self.metadata.transition(
                    run_id,
                    RunStatus.RUNNING,
                    stage=ours,
                    detail=f"pipeline run {external.run_id} {external.state}",
                    only_from=(RunStatus.QUEUED, run.stage),
                )
            except StaleRun:  # a worker took it meanwhile: it is the worker's
                return self.metadata.get_run(run_id)
            self.notifier.publish(
                event(run, "run.started", f"running {external.pipeline} on Data Factory", **where)
            )
        untouched = run.status == RunStatus.RUNNING and run.stage == ours
        if external.state == "running" or not untouched:
            if external.state in FINAL and not untouched:
                log.info(
                    "run %s: pipeline run %s %s; the run is the worker's (%s, %s)",
                    run_id,
                    external.run_id,
                    external.state,
                    run.status,
                    run.stage,
                )
            return run
        if external.state == "succeeded":
            try:
                back = self.metadata.transition(
                    run_id,
                    RunStatus.QUEUED,
                    detail=f"pipeline run {external.run_id} ended without cleaning this run; "
                    "it waits for the next drain",
                    only_from=(RunStatus.RUNNING, ours),
                )
            except StaleRun:
                return self.metadata.get_run(run_id)
            self.notifier.publish(event(back, "run.queued", "waiting for the next drain", **where))
            return back
        error = f"Data Factory pipeline {external.pipeline} run {external.run_id} " + (
            f"failed: {external.message}" if external.state == "failed" else "was cancelled"
        )
        if external.state == "cancelled" and external.message:
            error += f": {external.message}"
        try:
            failed = self.metadata.transition(
                run_id,
                RunStatus.FAILED,
                error=error,
                detail=external.run_id,
                only_from=(RunStatus.RUNNING, ours),
            )
        except StaleRun:
            return self.metadata.get_run(run_id)
        self.notifier.publish(event(failed, "run.failed", error, **where))
        return failed

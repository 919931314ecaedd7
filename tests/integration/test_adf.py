"""Data Factory through the real azure-mgmt-datafactory SDK, against an ARM stand-in.

There is no Data Factory emulator: `tests/standins/arm.py` is a stand-in HTTPS server
that checks the SDK's requests (paths, api-version, bearer token, bodies, references)
and answers like ARM. It covers `udo azure deploy`, `AzureDataFactoryOrchestrator`
(start, follow, state mapping, errors) and "Clean Data" in azure-orchestrator mode.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from standins.arm import ArmStandIn, StaticToken
from udo.adapters.azure.datafactory import AzureDataFactoryOrchestrator, deploy, management_client
from udo.adapters.azure.datafactory_models import FactoryTarget, build_factory
from udo.adapters.local.notifier import InProcessNotifier
from udo.adapters.sql.metadata import SQLMetadataStore
from udo.bootstrap import bootstrap
from udo.config import DataFactorySettings, Settings
from udo.domain.run import Run, RunStatus, now
from udo.generate.presets import load_preset
from udo.generate.service import generate_batch
from udo.ports.notifier import RunEvent
from udo.ports.orchestrator import OrchestratorRejected, OrchestratorUnavailable

PRESET_MARTS = [m.name for m in load_preset("ecommerce").marts]


@pytest.fixture
def arm(tmp_path: Path) -> Iterator[ArmStandIn]:
    stand_in = ArmStandIn(tmp_path).start()
    try:
        yield stand_in
    finally:
        stand_in.stop()


def _df(arm: ArmStandIn) -> DataFactorySettings:
    return DataFactorySettings(
        subscription_id=arm.subscription,
        resource_group=arm.resource_group,
        factory=arm.factory,
        arm_endpoint=arm.url,
        poll_seconds=0.01,
    )


def _client(arm: ArmStandIn) -> Any:
    # retry_total=0: an injected 503 reaches udo's own handling at once
    return management_client(
        _df(arm), StaticToken(arm.token), connection_verify=str(arm.ca_file), retry_total=0
    )


def _deployed(arm: ArmStandIn) -> Any:
    client = _client(arm)
    deploy(client, _df(arm), build_factory(FactoryTarget.template()))
    return client


# ------------------------------------------------------------------- deploy
def test_deploy_sends_every_resource_then_starts_the_triggers(arm: ArmStandIn) -> None:
    definition = build_factory(FactoryTarget.template())
    steps = deploy(_client(arm), _df(arm), definition)
    assert arm.problems == []
    assert str(steps[0]) == f"created  factory/{arm.factory}"
    for kind in ("linkedService", "dataset", "pipeline", "trigger"):
        for name in definition.names(kind):
            sent = arm.resources[kind][name]["properties"]
            assert sent == definition.body(kind, name)["properties"], (kind, name)
    assert arm.trigger_states == {"udo-small-schedule": "Started", "udo-large-schedule": "Started"}
    for request in arm.requests:
        assert request.query["api-version"] == ["2018-06-01"]
        assert request.headers["authorization"] == f"Bearer {arm.token}"
        assert request.path.startswith(arm.factory_path)
    small = arm.bodies("PUT", "/pipelines/udo-small")[0]["properties"]
    assert [a["type"] for a in small["activities"]] == [
        "AzureFunctionActivity",
        "IfCondition",
        "WebActivity",
        "WebActivity",
    ]
    large = arm.bodies("PUT", "/pipelines/udo-large")[0]["properties"]
    assert large["activities"][0]["type"] == "DatabricksJob"
    copies = small["activities"][1]["typeProperties"]["ifTrueActivities"][0]["typeProperties"]
    assert [a["type"] for a in copies["activities"]] == ["Copy", "Copy"]
    trigger = arm.bodies("PUT", "/triggers/udo-small-schedule")[0]["properties"]
    assert trigger["typeProperties"]["recurrence"]["frequency"] == "Minute"
    assert trigger["typeProperties"]["recurrence"]["interval"] == 10


def test_deploy_again_updates_in_place_stopping_started_triggers_first(arm: ArmStandIn) -> None:
    client = _deployed(arm)
    before = {k: dict(v) for k, v in arm.resources.items()}
    steps = [str(s) for s in deploy(client, _df(arm), build_factory(FactoryTarget.template()))]
    assert arm.problems == []  # ARM refuses to update a started trigger: it was stopped
    assert arm.resources == before
    assert "created" not in " ".join(steps)
    assert "stopped  trigger/udo-small-schedule" in steps
    assert steps.index("stopped  trigger/udo-small-schedule") < steps.index(
        "updated  trigger/udo-small-schedule"
    )
    assert steps[-2:] == [
        "started  trigger/udo-small-schedule",
        "started  trigger/udo-large-schedule",
    ]
    assert set(arm.trigger_states.values()) == {"Started"}


def test_deploy_refused_is_a_udo_error_without_the_token(arm: ArmStandIn) -> None:
    arm.inject.append((403, "AuthorizationFailed"))
    with pytest.raises(OrchestratorRejected) as info:
        deploy(_client(arm), _df(arm), build_factory(FactoryTarget.template()))
    assert "403" in str(info.value) and "AuthorizationFailed" in str(info.value)
    assert arm.token not in str(info.value)


def test_a_wrong_token_is_refused_by_the_stand_in(arm: ArmStandIn) -> None:
    client = management_client(
        _df(arm), StaticToken("not-the-token"), connection_verify=str(arm.ca_file), retry_total=0
    )
    with pytest.raises(OrchestratorRejected, match="401"):
        deploy(client, _df(arm), build_factory(FactoryTarget.template()))


# ------------------------------------------------------------- orchestrator
class Harness:
    """Metadata, notifier, an orchestrator following in the foreground, and its events."""

    def __init__(self, arm: ArmStandIn, tmp: Path, *, background: bool = False) -> None:
        self.metadata = SQLMetadataStore(f"sqlite:///{tmp / 'udo.db'}")
        self.metadata.migrate()
        self.notifier = InProcessNotifier()
        self.events: list[RunEvent] = []
        self.notifier.subscribe(self.events.append)
        self.orchestrator = AzureDataFactoryOrchestrator(
            _deployed(arm),
            resource_group=arm.resource_group,
            factory=arm.factory,
            metadata=self.metadata,
            notifier=self.notifier,
            poll_seconds=0.01,
            background=background,
        )

    def queued_run(self, run_id: str = "r1", route: str = "small") -> Run:
        at = now()
        run = Run(
            id=run_id,
            dataset="shop-eu",
            batch_id="b1",
            records=100,
            route=route,  # type: ignore[arg-type]
            engine="polars",
            status=RunStatus.REQUESTED,
            idempotency_key=f"key-{run_id}",
            requested_at=at,
            updated_at=at,
        )
        self.metadata.create_run(run)
        return self.metadata.transition(run_id, RunStatus.QUEUED, detail="routed")


def test_start_runs_the_routes_pipeline_with_the_runs_parameters(
    arm: ArmStandIn, tmp_path: Path
) -> None:
    h = Harness(arm, tmp_path)
    run = h.orchestrator.start(h.queued_run(route="large"), marts=["daily_sales"])
    (body,) = arm.bodies("POST", "/pipelines/udo-large/createRun")
    assert body == {"dataset": "shop-eu", "batch": "b1", "run_id": "r1", "marts": ["daily_sales"]}
    (adf_run,) = arm.runs
    assert run.status == RunStatus.QUEUED
    assert run.transitions[-1].detail == f"datafactory udo-large run {adf_run}"
    external = h.orchestrator.status(run)
    assert external is not None
    assert (external.pipeline, external.run_id, external.state) == ("udo-large", adf_run, "running")
    assert arm.problems == []


def test_a_run_the_worker_cleans_during_the_pipeline_is_the_workers(
    arm: ArmStandIn, tmp_path: Path
) -> None:
    """The Function's drain (a worker sharing the metadata) cleans the run while the
    pipeline is in progress: SUCCEEDED is the worker's, with its ledger."""
    h = Harness(arm, tmp_path)
    arm.script("udo-small", [("Queued", ""), ("InProgress", ""), ("Succeeded", "")])
    run = h.orchestrator.start(h.queued_run(), marts=PRESET_MARTS)
    assert h.orchestrator.status(run) is not None  # Queued
    h.metadata.transition("r1", RunStatus.RUNNING, stage="silver")  # the drain took it
    h.metadata.transition("r1", RunStatus.SUCCEEDED, stage="done", ledger={"tables": {}})
    done = h.orchestrator.follow(run)
    assert done.status == RunStatus.SUCCEEDED and done.ledger == {"tables": {}}
    assert h.events == []  # the worker announces its own success
    (adf_run,) = arm.runs
    assert arm.runs[adf_run].polls == 3  # followed to the end, no further


def test_a_pipeline_that_ends_without_cleaning_the_run_puts_it_back_in_the_queue(
    arm: ArmStandIn, tmp_path: Path
) -> None:
    """Another drain held the message: the pipeline succeeded, the run did not."""
    h = Harness(arm, tmp_path)
    arm.script(
        "udo-small", [("Queued", ""), ("InProgress", ""), ("InProgress", ""), ("Succeeded", "")]
    )
    run = h.orchestrator.follow(h.orchestrator.start(h.queued_run(), marts=PRESET_MARTS))
    assert run.status == RunStatus.QUEUED and run.ledger is None
    assert [e.type for e in h.events] == ["run.started", "run.queued"]
    (adf_run,) = arm.runs
    assert h.events[-1].data == {"pipeline": "udo-small", "pipeline_run_id": adf_run}
    assert arm.runs[adf_run].polls == 4
    statuses = [t.status for t in h.metadata.transitions("r1")]
    assert statuses[-2:] == [RunStatus.RUNNING, RunStatus.QUEUED]
    assert "without cleaning this run" in (run.transitions[-1].detail or "")


def test_a_failed_pipeline_run_fails_the_run_with_its_message(
    arm: ArmStandIn, tmp_path: Path
) -> None:
    h = Harness(arm, tmp_path)
    message = "Operation on target Clean failed: function returned 500"
    arm.script("udo-small", [("InProgress", ""), ("Failed", message)])
    run = h.orchestrator.follow(h.orchestrator.start(h.queued_run()))
    assert run.status == RunStatus.FAILED
    assert run.error is not None and message in run.error and "udo-small" in run.error
    assert [e.type for e in h.events] == ["run.started", "run.failed"]
    assert message in h.events[-1].message


def test_a_cancelled_pipeline_run_fails_the_run(arm: ArmStandIn, tmp_path: Path) -> None:
    h = Harness(arm, tmp_path)
    arm.script("udo-small", [("Canceling", ""), ("Cancelled", "")])
    run = h.orchestrator.follow(h.orchestrator.start(h.queued_run()))
    assert run.status == RunStatus.FAILED and run.error is not None
    assert "cancelled" in run.error


def test_the_workers_own_states_are_never_undone(arm: ArmStandIn, tmp_path: Path) -> None:
    """A worker sharing the metadata (the Function's) finished the run first."""
    h = Harness(arm, tmp_path)
    arm.script("udo-small", [("Failed", "the Copy to MySQL failed")])
    run = h.orchestrator.start(h.queued_run())
    h.metadata.transition("r1", RunStatus.RUNNING, stage="silver")
    h.metadata.transition("r1", RunStatus.SUCCEEDED, stage="done")
    assert h.orchestrator.follow(run).status == RunStatus.SUCCEEDED
    assert h.events == []


def test_a_new_orchestrator_resumes_following_from_the_runs_history(
    arm: ArmStandIn, tmp_path: Path
) -> None:
    h = Harness(arm, tmp_path)
    run = h.orchestrator.start(h.queued_run())
    again = AzureDataFactoryOrchestrator(
        _client(arm),
        resource_group=arm.resource_group,
        factory=arm.factory,
        metadata=h.metadata,
        notifier=h.notifier,
        poll_seconds=0.01,
    )
    followed = again.follow(run)
    assert followed.status == RunStatus.QUEUED  # followed to the end of the pipeline run
    (adf_run,) = arm.runs
    assert adf_run in (followed.transitions[-1].detail or "")


def test_polling_rides_out_an_unavailable_service(arm: ArmStandIn, tmp_path: Path) -> None:
    h = Harness(arm, tmp_path)
    run = h.orchestrator.start(h.queued_run())
    arm.inject += [(503, "ServiceUnavailable"), (429, "TooManyRequests")]
    h.metadata.transition("r1", RunStatus.RUNNING, stage="silver")
    h.metadata.transition("r1", RunStatus.SUCCEEDED, stage="done")
    assert h.orchestrator.follow(run).status == RunStatus.SUCCEEDED
    (adf_run,) = arm.runs
    assert arm.runs[adf_run].polls == 2  # it got through the 503 and the 429


def test_start_errors_are_mapped_to_udo_errors(arm: ArmStandIn, tmp_path: Path) -> None:
    h = Harness(arm, tmp_path)
    run = h.queued_run()
    arm.inject.append((503, "ServiceUnavailable"))
    with pytest.raises(OrchestratorUnavailable, match="503"):
        h.orchestrator.start(run)
    arm.resources["pipeline"].pop("udo-small")
    with pytest.raises(OrchestratorRejected, match="udo azure deploy"):
        h.orchestrator.start(run)
    assert h.metadata.get_run("r1").status == RunStatus.QUEUED


def test_unreachable_arm_is_unavailable(tmp_path: Path, arm: ArmStandIn) -> None:
    arm.stop()
    h_client = management_client(
        _df(arm), StaticToken(arm.token), connection_verify=str(arm.ca_file), retry_total=0
    )
    store = SQLMetadataStore(f"sqlite:///{tmp_path / 'u.db'}")
    store.migrate()
    orchestrator = AzureDataFactoryOrchestrator(
        h_client,
        resource_group=arm.resource_group,
        factory=arm.factory,
        metadata=store,
        notifier=InProcessNotifier(),
    )
    at = now()
    run = Run(
        id="r9", dataset="d", batch_id="b", records=1, route="small", engine="polars",
        status=RunStatus.QUEUED, idempotency_key="k9", requested_at=at, updated_at=at,
    )  # fmt: skip
    with pytest.raises(OrchestratorUnavailable, match="could not be reached"):
        orchestrator.start(run)


# --------------------------------------------------- "Clean Data" on Azure
def test_clean_data_starts_the_pipeline_of_each_route(
    arm: ArmStandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _deployed(arm)
    # the composition root builds the client as in production; only the credential
    # (no Azure AD here) and the CA bundle (the stand-in's self-signed certificate) differ
    monkeypatch.setattr("azure.identity.DefaultAzureCredential", lambda: StaticToken(arm.token))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(arm.ca_file))
    settings = Settings(
        data_dir=tmp_path / "data",
        storage={"type": "local"},
        queue={"type": "local"},
        notifier={"type": "local"},
        orchestrator={"type": "adf"},
        routing={"small_max_records": 2500},
        azure={"datafactory": _df(arm).model_dump()},
    )
    app = bootstrap(settings)
    assert isinstance(app.orchestrator, AzureDataFactoryOrchestrator)
    # udo-small's Function activity works until the drain below (the Function's) returns
    draining = arm.hold("udo-small")
    arm.script("udo-small", [("InProgress", ""), ("Succeeded", "")])
    arm.script("udo-large", [("InProgress", ""), ("Failed", "Spark job failed: OOM")])
    done: dict[str, RunEvent] = {}
    finished = threading.Event()

    def on_event(event: RunEvent) -> None:
        if event.type in ("run.succeeded", "run.failed"):
            done[event.run_id] = event
            if len(done) == 2:
                finished.set()

    app.notifier.subscribe(on_event)
    spec = load_preset("ecommerce")
    generate_batch(app.bronze, spec.scaled(20), batch_id="small1")
    generate_batch(app.bronze, spec.scaled(600), batch_id="large1")
    small = app.runs.request_clean("ecommerce", "small1")
    large = app.runs.request_clean("ecommerce", "large1")
    try:
        assert (small.decision.route, large.decision.route) == ("small", "large")
        assert app.worker.drain("small") == [small.run.id]  # what the Function does
        draining.set()
        assert finished.wait(60), f"only {list(done)} finished"
        app.orchestrator.follow(small.run)  # the follower is done with it too
    finally:
        app.orchestrator.close()
    assert app.queue.depth("small-queue") == 0 and app.queue.depth("large-queue") == 1
    for pipeline, request in (("udo-small", small), ("udo-large", large)):
        (body,) = arm.bodies("POST", f"/pipelines/{pipeline}/createRun")
        assert body == {
            "dataset": "ecommerce",
            "batch": request.run.batch_id,
            "run_id": request.run.id,
            "marts": PRESET_MARTS,
        }
    cleaned = app.metadata.get_run(small.run.id)
    assert cleaned.status == RunStatus.SUCCEEDED and cleaned.ledger is not None
    failed = app.metadata.get_run(large.run.id)
    assert failed.status == RunStatus.FAILED and "Spark job failed: OOM" in (failed.error or "")
    assert done[small.run.id].message == "Cleaning complete"
    assert arm.problems == []


def test_clean_data_keeps_the_run_queued_when_data_factory_is_down(
    arm: ArmStandIn, tmp_path: Path
) -> None:
    h = Harness(arm, tmp_path)
    from udo.adapters.local.queue import SQLiteQueueAdapter
    from udo.adapters.local.storage import LocalStorageAdapter
    from udo.orchestration.runs import RunService
    from udo.pipeline.bronze import BronzeStore

    bronze = BronzeStore(LocalStorageAdapter(tmp_path / "lake"))
    generate_batch(bronze, load_preset("ecommerce").scaled(20), batch_id="b1")
    service = RunService(
        bronze,
        SQLiteQueueAdapter(tmp_path / "q.db"),
        h.metadata,
        h.notifier,
        queues={"small": "small-queue", "large": "large-queue"},
        engines={"small": "polars", "large": "spark"},
        threshold=10_000,
        orchestrator=h.orchestrator,
    )
    arm.inject.append((503, "ServiceUnavailable"))
    request = service.request_clean("ecommerce", "b1")
    assert request.run.status == RunStatus.QUEUED
    assert "not started now" in (request.run.transitions[-1].detail or "")
    assert service.queue.depth("small-queue") == 1
    # a refusal (here: a token the service does not accept) is no different for the caller
    generate_batch(bronze, load_preset("ecommerce").scaled(20), batch_id="b2")
    arm.inject.append((403, "AuthorizationFailed"))
    refused = service.request_clean("ecommerce", "b2")
    assert refused.run.status == RunStatus.QUEUED and not refused.reused
    assert "403" in (refused.run.transitions[-1].detail or "")
    assert service.queue.depth("small-queue") == 2


def test_a_restarted_process_resumes_following_unfinished_runs(
    arm: ArmStandIn, tmp_path: Path
) -> None:
    first = Harness(arm, tmp_path)  # starts the pipeline, then its process is gone
    arm.script("udo-small", [("InProgress", ""), ("Failed", "Function returned 500")])
    first.orchestrator.start(first.queued_run("r1"))
    first.queued_run("r2")  # queued, but no pipeline run of ours: nothing to follow
    restarted = AzureDataFactoryOrchestrator(
        _client(arm),
        resource_group=arm.resource_group,
        factory=arm.factory,
        metadata=first.metadata,
        notifier=first.notifier,
        poll_seconds=0.01,
    )
    try:
        assert restarted.resume() == 1
        deadline = time.monotonic() + 30
        while first.metadata.get_run("r1").status in (RunStatus.QUEUED, RunStatus.RUNNING):
            assert time.monotonic() < deadline, "the resumed follower never ended the run"
            time.sleep(0.05)
    finally:
        restarted.close()
    run = first.metadata.get_run("r1")
    assert run.status == RunStatus.FAILED and "Function returned 500" in (run.error or "")
    assert first.metadata.get_run("r2").status == RunStatus.QUEUED


def test_the_follower_never_overwrites_a_worker_that_moved_in_between(
    arm: ArmStandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker (another process) takes the run right after the follower read it: the
    follower's compare-and-set fails and the worker's state stands."""
    h = Harness(arm, tmp_path)
    arm.script("udo-small", [("InProgress", ""), ("Failed", "HTTP 502 after 230 s")])
    run = h.orchestrator.start(h.queued_run())
    real_get = h.metadata.get_run
    raced = []

    def get_then_worker_moves(run_id: str) -> Run:
        seen = real_get(run_id)
        if not raced:  # between this read and the follower's write, the worker starts
            raced.append(True)
            h.metadata.transition(run_id, RunStatus.RUNNING, stage="silver")
        return seen

    monkeypatch.setattr(h.metadata, "get_run", get_then_worker_moves)
    followed = h.orchestrator.follow(run)
    assert (followed.status, followed.stage) == (RunStatus.RUNNING, "silver")
    assert h.events == []  # no run.started, and no run.failed over the worker's run
    stages = [t.stage for t in h.metadata.transitions("r1")]
    assert "datafactory udo-small" not in stages


def test_the_api_picks_up_runs_the_cli_starts_later(arm: ArmStandIn, tmp_path: Path) -> None:
    """`udo request` starts a pipeline and exits; the API's orchestrator, watching, follows
    it to its end."""
    cli = Harness(arm, tmp_path)  # follows nothing: its process ends right after start
    api = AzureDataFactoryOrchestrator(
        _client(arm),
        resource_group=arm.resource_group,
        factory=arm.factory,
        metadata=cli.metadata,
        notifier=cli.notifier,
        poll_seconds=0.01,
    )
    try:
        assert api.resume(watch=True) == 0  # nothing to follow yet
        arm.script("udo-small", [("InProgress", ""), ("Cancelled", "")])
        cli.orchestrator.start(cli.queued_run("r1"))
        deadline = time.monotonic() + 60
        while cli.metadata.get_run("r1").status != RunStatus.FAILED:
            assert time.monotonic() < deadline, "the watcher never followed the run"
            time.sleep(0.1)
    finally:
        api.close()
    assert "cancelled" in (cli.metadata.get_run("r1").error or "")
    assert [e.type for e in cli.events] == ["run.started", "run.failed"]

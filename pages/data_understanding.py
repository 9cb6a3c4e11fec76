"""Stage 2 · Understand the data: a version's overview, its full profile, and its quality checks."""

import hashlib
from collections.abc import Mapping

import streamlit as st

from mlcore.data.quality import CHECKS, STATUSES, Finding
from mlcore.data.understanding import (
    PROFILE_SAMPLE_ROWS,
    THRESHOLD_KINDS,
    Acknowledgement,
    cached_profile,
    column_table,
    default_column,
    distribution_chart,
    finding_rows,
    get_quality_settings,
    latest_quality,
    missing_chart,
    profile_mode,
    quality_runs,
    quality_runs_frame,
    save_quality_settings,
    submit_profile,
    submit_quality,
    threshold_changes,
    thresholds_from_form,
    thresholds_to_form,
    version_roles,
)
from mlcore.data.understanding import acknowledge_finding as acknowledge
from mlcore.data.versions import VersionSummary, list_versions
from mlcore.errors import MLCoreError
from mlcore.store.engine import session_scope
from ui.cache import profile_frame, profile_html, relation_figure, version_overview, version_table
from ui.i18n import lang, t
from ui.state import allowed, current_project, current_user, workspace
from ui.widgets import flash, gate_banner, jobs_panel, page_header, role_notice, show_error, show_flash, user_errors

KINDS = ("profile", "quality")
STATUS_COLORS = {"pass": "green", "warn": "orange", "fail": "red"}
STATUS_ICONS = {"pass": ":material/check_circle:", "warn": ":material/warning:", "fail": ":material/cancel:"}
VERSION_KEY = "understanding_version"  # survives page changes (widget keys do not)

page_header("understanding.title", "understanding.intro")
show_flash()
project = current_project()
if project is None:
    st.info(t("understanding.no_project"))
    st.stop()
gate_banner(project.id)
user = current_user()
ws = workspace()
with session_scope(ws.engine) as s:
    versions = list_versions(session=s, project_id=project.id)
if not versions:
    st.info(t("understanding.no_versions"))
    st.page_link("pages/data_import.py", label=t("understanding.go_import"), icon=":material/upload_file:")
    st.stop()

by_id = {v.id: v for v in versions}
if st.session_state.get(VERSION_KEY) not in by_id:
    st.session_state[VERSION_KEY] = max(versions, key=lambda v: v.created_at).id


def _remember_version() -> None:
    st.session_state[VERSION_KEY] = st.session_state["und_version"]


version_ids = list(by_id)
chosen = st.selectbox(
    t("understanding.version_pick"),
    version_ids,
    index=version_ids.index(st.session_state[VERSION_KEY]),
    format_func=lambda i: by_id[i].label,
    key="und_version",
    on_change=_remember_version,
)
version: VersionSummary = by_id[chosen]
st.caption(
    t(
        "understanding.version_caption",
        rows=version.n_rows,
        cols=version.n_cols,
        target=version.target or t("understanding.no_target_short"),
        sha=version.sha256[:12],
    )
)
can_run = allowed("data.profile", project.id)
panel = jobs_panel(project.id, KINDS)
active_jobs = [j for j in panel if j.active]
others = [v for v in versions if v.id != version.id]


def _other_label(version_id: int | None) -> str:
    return t("understanding.none_chosen") if version_id is None else by_id[version_id].label


# --------------------------------------------------------------------------- overview


def overview_tab() -> None:
    vo = version_overview(
        version.sha256, tuple(sorted(version_roles(version).items())), version.target, project.task_type
    )
    ov = vo.overview
    c1, c2, c3, c4 = st.columns(4)
    c1.metric(t("understanding.overview.rows"), f"{ov.n_rows:,}")
    c2.metric(t("understanding.overview.columns"), ov.n_cols)
    c3.metric(t("understanding.overview.missing"), f"{ov.missing_share:.1%}")
    c4.metric(t("understanding.overview.target"), version.target or t("understanding.no_target_short"))

    st.subheader(t("understanding.overview.columns_title"))
    st.caption(t("understanding.overview.columns_help"))
    st.dataframe(
        column_table(ov, role_labels={r: t(f"role.{r}") for r in set(ov.columns["role"])}, lang=lang()),
        hide_index=True,
        width="stretch",
        column_config={
            "column": st.column_config.TextColumn(t("understanding.col.column"), pinned=True),
            "role": t("understanding.col.role"),
            "dtype": t("understanding.col.dtype"),
            "n_missing": st.column_config.NumberColumn(t("understanding.col.n_missing"), format="localized"),
            "missing_share": st.column_config.ProgressColumn(
                t("understanding.col.missing_share"), min_value=0.0, max_value=1.0, format="percent"
            ),
            "n_distinct": st.column_config.NumberColumn(t("understanding.col.n_distinct"), format="localized"),
            "summary": st.column_config.TextColumn(t("understanding.col.summary"), width="large"),
        },
    )

    left, right = st.columns(2)
    with left:
        st.subheader(t("understanding.overview.missing_title"))
        st.plotly_chart(missing_chart(ov, lang=lang()), width="stretch", key="und_missing_chart")
    with right:
        st.subheader(t("understanding.overview.distribution_title"))
        names = list(ov.distributions)
        column = st.selectbox(
            t("understanding.overview.distribution_pick"),
            names,
            index=names.index(default_column(ov)),
            key=f"und_dist_{version.id}",
        )
        st.plotly_chart(distribution_chart(ov, column, lang=lang()), width="stretch", key="und_dist_chart")

    st.subheader(t("understanding.overview.relation_title"))
    if version.target is None:
        st.info(t("understanding.overview.relation_no_target"))
    elif vo.relation is None:
        if vo.relation_error is not None:
            show_error(vo.relation_error)
    else:
        metric = str(vo.relation["metric"].iloc[0]) if len(vo.relation) else "auc"
        if metric == "r2":
            st.caption(t("understanding.overview.relation_help_r2", target=version.target))
        else:
            st.caption(t("understanding.overview.relation_help_auc", target=version.target))
        rel_left, rel_right = st.columns([2, 3])
        with rel_left:
            st.dataframe(
                vo.relation,
                hide_index=True,
                width="stretch",
                column_config={
                    "feature": t("understanding.col.feature"),
                    "role": None,
                    "score": st.column_config.ProgressColumn(
                        t("understanding.col.score"), min_value=0.0, max_value=1.0, format="%.3f"
                    ),
                    "metric": None,
                    "n_rows": None,
                },
            )
        with rel_right:
            kinds = ov.roles
            features = list(vo.relation["feature"])
            if features:
                feature = st.selectbox(t("understanding.overview.relation_pick"), features, key="und_relation")
                with user_errors():
                    st.plotly_chart(
                        relation_figure(
                            version.sha256, feature, version.target, project.task_type, kinds.get(feature), lang()
                        ),
                        width="stretch",
                        key="und_relation_chart",
                    )

    st.subheader(t("understanding.overview.sample_title"))
    st.caption(t("understanding.overview.sample_help", n=len(ov.sample)))
    st.dataframe(ov.sample, width="stretch")


# --------------------------------------------------------------------------- full profile


def profile_tab() -> None:
    st.markdown(t("understanding.profile.help", threshold=PROFILE_SAMPLE_ROWS))
    left, right = st.columns(2)
    with left:
        compare_id = st.selectbox(
            t("understanding.profile.compare_with"),
            [None, *[v.id for v in others]],
            format_func=_other_label,
            key=f"und_compare_{version.id}",
            help=t("understanding.profile.compare_help"),
        )
    with right:
        explorative = st.toggle(
            t("understanding.profile.explorative"),
            key="und_explorative",
            help=t("understanding.profile.explorative_help"),
            disabled=compare_id is not None,
        )
    compare_sha = by_id[compare_id].sha256 if compare_id is not None else None
    mode = profile_mode(explorative=explorative, compare_sha256=compare_sha)
    with session_scope(ws.engine) as s:
        found = cached_profile(session=s, store=ws.store, dataset_sha256=version.sha256, mode=mode)
    if found is None:
        building = any(
            j.kind == "profile" and j.params.get("dataset_sha256") == version.sha256 and j.params.get("mode") == mode
            for j in active_jobs
        )
        if building:
            st.info(t("understanding.profile.building"), icon=":material/hourglass_top:")
        else:
            st.info(t("understanding.profile.none"))
        if not can_run:
            role_notice("data.profile")
        elif not building and st.button(t("understanding.profile.build"), type="primary", key="und_build_profile"):
            with user_errors():
                request = submit_profile(
                    engine=ws.engine,
                    settings=ws.settings,
                    project_id=project.id,
                    version_id=version.id,
                    actor_id=user.id or 0,
                    explorative=explorative,
                    compare_version_id=compare_id,
                )
                flash(
                    t("understanding.profile.reused")
                    if request.job_id is None
                    else t("understanding.profile.started", job_id=request.job_id)
                )
                st.rerun()
        return
    if found.is_comparison:
        st.caption(t("understanding.profile.compared", a=version.label, b=_other_label(compare_id)))
    if found.sampled:
        st.warning(
            t("understanding.profile.sampled", n_profiled=found.n_rows_profiled, n_rows=version.n_rows),
            icon=":material/info:",
        )
    else:
        st.caption(t("understanding.profile.all_rows", n_rows=version.n_rows))
    st.caption(t("understanding.profile.made_at", when=found.created_at.strftime("%Y-%m-%d %H:%M UTC")))
    try:
        shown = profile_frame(found.html_sha256, version.label)
    except MLCoreError as exc:  # the stored file went missing or changed
        show_error(exc)
        return
    suffix = "compare" if found.is_comparison else mode
    st.download_button(
        t("understanding.profile.download"),
        data=lambda sha=found.html_sha256: profile_html(sha).encode("utf-8"),
        file_name=f"{version.dataset}-v{version.number}-{suffix}-profile.html",
        mime="text/html",
        key="und_profile_download",
        icon=":material/download:",
    )
    st.iframe(shown, height=900)


# --------------------------------------------------------------------------- quality checks


def _threshold_input(name: str, kind: str, value: float, key: str) -> float:
    label, help_text = t(f"understanding.threshold.{name}"), t(f"understanding.threshold.{name}.help")
    if kind == "count":
        low = 1 if name == "high_cardinality_count" else 0
        return st.number_input(label, min_value=low, value=int(value), step=1, key=key, help=help_text)
    if kind == "share":
        return st.number_input(
            label, min_value=0.0, max_value=100.0, value=float(value), step=0.5, format="%.2f", key=key, help=help_text
        )
    if kind == "score":
        return st.number_input(
            label, min_value=0.0, max_value=1.0, value=float(value), step=0.01, format="%.3f", key=key, help=help_text
        )
    return st.number_input(label, min_value=0.01, value=float(value), step=0.1, format="%.2f", key=key, help=help_text)


def _format_threshold(name: str, value: float) -> str:
    return f"{value:g} %" if THRESHOLD_KINDS[name] == "share" else f"{value:g}"


def thresholds_settings() -> None:
    with session_scope(ws.engine) as s:
        current = get_quality_settings(session=s, project_id=project.id)
    saved_note = (
        t("understanding.settings.version", version=current.version)
        if current.version
        else t("understanding.settings.defaults")
    )
    with st.expander(t("understanding.settings.title"), icon=":material/tune:"):
        st.caption(t("understanding.settings.help") + " " + saved_note)
        if not allowed("data.settings", project.id):
            shown = thresholds_to_form(current.thresholds)
            st.markdown(
                "\n".join(
                    f"- {t(f'understanding.threshold.{name}')}: **{_format_threshold(name, v)}**"
                    for name, v in shown.items()
                )
            )
            role_notice("data.settings")
            return
        base_key = f"und_settings_base_{project.id}"
        if base_key not in st.session_state:
            # The version the user starts editing from: a save against it fails if someone saved since.
            st.session_state[base_key] = (current.version, thresholds_to_form(current.thresholds))
        base_version, base_values = st.session_state[base_key]
        widget_keys = {name: f"und_th_{project.id}_{name}" for name in THRESHOLD_KINDS}
        values: dict[str, float] = {}
        with st.form(f"und_settings_{project.id}"):
            grid = st.columns(3)
            for i, (name, kind) in enumerate(THRESHOLD_KINDS.items()):
                with grid[i % 3]:
                    values[name] = _threshold_input(name, kind, base_values[name], widget_keys[name])
            save = st.form_submit_button(t("understanding.settings.save"), type="primary")
        if save:
            done = False
            with user_errors(), session_scope(ws.engine) as s:
                save_quality_settings(
                    session=s,
                    actor=user,
                    project_id=project.id,
                    thresholds=thresholds_from_form(values),
                    expected_version=base_version,
                )
                done = True
            if done:
                st.session_state.pop(base_key, None)
                flash(t("understanding.settings.saved"))
                st.rerun()
        if base_version != current.version:
            st.warning(t("understanding.settings.changed_meanwhile", version=current.version))
            try:
                changes = threshold_changes(current.thresholds, thresholds_from_form(values))
            except MLCoreError:
                changes = {}
            if changes:
                st.markdown(
                    "\n".join(
                        t(
                            "understanding.settings.difference",
                            name=t(f"understanding.threshold.{name}"),
                            saved=_format_threshold(name, thresholds_to_form(current.thresholds)[name]),
                            yours=_format_threshold(name, values[name]),
                        )
                        for name in changes
                    )
                )
            if st.button(t("understanding.settings.reload"), key=f"und_settings_reload_{project.id}"):
                st.session_state.pop(base_key, None)
                for key in widget_keys.values():
                    st.session_state.pop(key, None)
                st.rerun()


def _status_label(status: str) -> str:
    return t(f"understanding.status.{status}")


def _show_finding(finding: Finding, acks: Mapping[str, Acknowledgement]) -> None:
    message = t(finding.key, **finding.params)
    if not finding.applicable:
        st.caption(message)
    elif finding.status == "pass":
        st.success(message, icon=STATUS_ICONS["pass"])
    elif finding.status == "warn":
        st.warning(message, icon=STATUS_ICONS["warn"])
    else:
        st.error(message, icon=STATUS_ICONS["fail"])
    ack = acks.get(finding.finding_id)
    if ack is not None:
        st.caption(
            t("understanding.quality.acknowledged", by=ack.by, when=ack.at.strftime("%Y-%m-%d %H:%M"), note=ack.note)
        )


def quality_tab() -> None:
    st.markdown(t("understanding.quality.help"))
    thresholds_settings()
    if can_run:
        left, right = st.columns([2, 1], vertical_alignment="bottom")
        with left:
            other_id = st.selectbox(
                t("understanding.quality.other_pick"),
                [None, *[v.id for v in others]],
                format_func=_other_label,
                key=f"und_other_{version.id}",
                help=t("understanding.quality.other_help"),
            )
        with right:
            if st.button(t("understanding.quality.run"), type="primary", key="und_run_quality"):
                with user_errors():
                    job_id = submit_quality(
                        engine=ws.engine,
                        settings=ws.settings,
                        project_id=project.id,
                        version_id=version.id,
                        actor_id=user.id or 0,
                        other_version_id=other_id,
                    )
                    flash(t("understanding.quality.started", job_id=job_id))
                    st.rerun()
    else:
        role_notice("data.profile")

    with session_scope(ws.engine) as s:
        latest = latest_quality(session=s, store=ws.store, version_id=version.id)
        current = get_quality_settings(session=s, project_id=project.id)
        runs = quality_runs(session=s, version_id=version.id)
    if latest is None:
        st.info(t("understanding.quality.none"))
        return
    run, report = latest.run, latest.report
    st.subheader(t("understanding.quality.results_title"))
    st.caption(
        t(
            "understanding.quality.run_info",
            when=run.created_at.strftime("%Y-%m-%d %H:%M UTC"),
            by=run.created_by,
            rows=report.n_rows,
        )
    )
    counts = report.summary()
    m1, m2, m3, m4 = st.columns(4)
    m1.metric(_status_label("fail"), counts["fail"])
    m2.metric(_status_label("warn"), counts["warn"])
    m3.metric(_status_label("pass"), counts["pass"])
    m4.metric(t("understanding.quality.open"), len(latest.open_findings()))
    if run.thresholds != current.thresholds.to_dict():
        st.info(t("understanding.quality.stale_thresholds"), icon=":material/update:")

    worst = report.status_by_check()
    for check in CHECKS:
        findings = report.for_check(check)
        status = worst.get(check, "pass")
        applicable = any(f.applicable for f in findings)
        verdict = (
            f":{STATUS_COLORS[status]}[{_status_label(status)}]"
            if applicable
            else f":gray[{t('understanding.quality.not_applicable')}]"
        )
        label = f"{t(f'quality.check.{check}.title')} · {verdict}"
        with st.expander(label, expanded=status == "fail", icon=STATUS_ICONS[status]):
            st.caption(t(f"quality.check.{check}.why"))
            for finding in findings:
                _show_finding(finding, latest.acks)

    pickable = sorted(
        (f for f in report.findings if f.status != "pass" and (f.rows or f.columns)),
        key=lambda f: -STATUSES.index(f.status),
    )
    if pickable:
        st.subheader(t("understanding.quality.inspect_title"))
        st.caption(t("understanding.quality.inspect_help"))
        by_key = {f.finding_id: f for f in pickable}
        picked = st.selectbox(
            t("understanding.quality.finding_pick"),
            list(by_key),
            format_func=lambda k: " · ".join(
                [
                    _status_label(by_key[k].status),
                    t(f"quality.check.{by_key[k].check}.title"),
                    ", ".join(by_key[k].columns) or t("understanding.quality.all_columns"),
                ]
            ),
            key=f"und_finding_{version.id}",
        )
        finding = by_key[picked]
        _show_finding(finding, latest.acks)
        rows = finding_rows(version_table(version.sha256), finding, target=version.target)
        if finding.rows:
            st.caption(t("understanding.quality.rows_caption", shown=len(rows), total=finding.n_rows))
        else:
            st.caption(t("understanding.quality.columns_caption", n=len(rows)))
        st.dataframe(rows, width="stretch", height=300, key="und_finding_rows")
        if can_run:
            digest = hashlib.sha256(finding.finding_id.encode("utf-8")).hexdigest()[:12]
            existing = latest.acks.get(finding.finding_id)
            with st.form(f"und_ack_{version.id}_{digest}"):
                note = st.text_area(
                    t("understanding.quality.ack_note"),
                    value=existing.note if existing else "",
                    max_chars=5000,
                    key=f"und_ack_note_{version.id}_{digest}",
                    help=t("understanding.quality.ack_help"),
                )
                sent = st.form_submit_button(t("understanding.quality.ack_button"), icon=":material/done:")
            if sent:
                done = False
                with user_errors(), session_scope(ws.engine) as s:
                    acknowledge(
                        session=s,
                        actor=user,
                        project_id=project.id,
                        version_id=version.id,
                        finding_key=finding.finding_id,
                        note=note,
                    )
                    done = True
                if done:
                    flash(t("understanding.quality.ack_saved"))
                    st.rerun()

    if len(runs) > 1:
        with st.expander(t("understanding.quality.history_title", n=len(runs)), icon=":material/history:"):
            st.dataframe(
                quality_runs_frame(runs, status_labels={x: _status_label(x) for x in STATUSES}),
                hide_index=True,
                width="stretch",
                column_config={
                    "run": t("understanding.col.run"),
                    "created_at": st.column_config.DatetimeColumn(
                        t("understanding.col.created_at"), format="YYYY-MM-DD HH:mm"
                    ),
                    "created_by": t("understanding.col.created_by"),
                    "status": t("understanding.col.status"),
                    "n_pass": _status_label("pass"),
                    "n_warn": _status_label("warn"),
                    "n_fail": _status_label("fail"),
                },
            )


tab_overview, tab_profile, tab_quality = st.tabs(
    [t("understanding.tab.overview"), t("understanding.tab.profile"), t("understanding.tab.quality")],
    key=f"und_tab_{lang()}",
    on_change="rerun",
)
# Only the open tab runs: the profile's HTML is not sent again while the user reads the checks.
if tab_overview.open:
    with tab_overview:
        overview_tab()
if tab_profile.open:
    with tab_profile:
        profile_tab()
if tab_quality.open:
    with tab_quality:
        quality_tab()

// Loopline dashboard: live updates (server-sent events) and interaction. No dependencies.
(() => {
  "use strict";
  const $ = (sel, root = document) => root.querySelector(sel);
  const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));
  const token = ($("meta[name=loopline-token]") || {}).content || "";
  // Changes since shortly before the page was rendered are replayed when the stream opens.
  const since = encodeURIComponent(($("meta[name=loopline-since]") || {}).content || "");
  const TERMINAL = new Set(["succeeded", "cached", "failed", "cancelled", "abandoned", "orphaned"]);

  async function api(method, url, body) {
    const response = await fetch(url, {
      method,
      headers: { "Content-Type": "application/json", "X-Loopline-Token": token },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.detail || `${response.status} ${response.statusText}`);
    return data;
  }

  async function html(url) {
    const response = await fetch(url, { headers: { Accept: "text/html" } });
    if (!response.ok) throw new Error(`${response.status} ${response.statusText}`);
    return response;
  }

  let toastTimer;
  function toast(message, bad = false) {
    const el = $("#toast");
    el.textContent = message;
    el.className = "show" + (bad ? " bad" : "");
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => (el.className = ""), bad ? 6000 : 2200);
  }

  function live(on) {
    const el = $("#live");
    if (el) el.classList.toggle("on", on);
  }

  // An event stream. Browsers give a page about 6 connections per server, shared by all its tabs:
  // a stream of `/api/v1/events` (which replays changes `since` a moment) is closed while its
  // tab is hidden and reopened, from the moment it was hidden, when the tab shows again.
  function listen(url, handlers) {
    let source = null;
    let closed = false;
    const open = (target) => {
      source = new EventSource(target);
      source.onopen = () => live(true);
      source.onerror = () => live(false);
      for (const [name, handler] of Object.entries(handlers)) {
        source.addEventListener(name, (event) => handler(JSON.parse(event.data || "null")));
      }
    };
    open(url);
    if (url.startsWith("/api/v1/events")) {
      let hiddenAt = null;
      document.addEventListener("visibilitychange", () => {
        if (closed) return;
        if (document.hidden && source) {
          source.close();
          source = null;
          hiddenAt = new Date(Date.now() - 2000).toISOString();
          live(false);
        } else if (!document.hidden && !source) {
          const resumed = new URL(url, location.origin);
          resumed.searchParams.set("since", hiddenAt);
          open(resumed.pathname + resumed.search);
        }
      });
    }
    return {
      close() {
        closed = true;
        if (source) source.close();
      },
    };
  }

  // A log line as a terminal would leave it: colour codes dropped, and of a line that a progress
  // bar rewrote with carriage returns, only its last state.
  const ANSI = /\x1b\[[0-9;?]*[ -\/]*[@-~]/g;
  function plainLine(text) {
    const states = text.replace(ANSI, "").split("\r").filter((part) => part !== "");
    return states.length ? states[states.length - 1] : "";
  }

  function formatDuration(seconds) {
    if (seconds == null) return "";
    if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
    if (seconds < 60) return `${seconds.toFixed(1)} s`;
    if (seconds < 3600) return `${Math.floor(seconds / 60)}m ${String(Math.floor(seconds % 60)).padStart(2, "0")}s`;
    return `${Math.floor(seconds / 3600)}h ${String(Math.floor((seconds % 3600) / 60)).padStart(2, "0")}m`;
  }

  // A run whose body returned futures is still at work (its nested runs are): it reads as running.
  function shown(state) {
    return state === "waiting" ? "running" : state;
  }

  function setBadge(el, state) {
    if (!el) return;
    el.className = `badge s-${shown(state)}`;
    el.dataset.state = state;
    el.textContent = shown(state);
  }

  // Works for HTML and SVG elements alike (SVG's className is not a string).
  function replaceState(el, state) {
    el.setAttribute("class", (el.getAttribute("class") || "").replace(/\bs-[a-z]+/, `s-${shown(state)}`));
  }

  // A duration that ticks (every second, from `data-started`) until its run ends.
  function setClock(el, run) {
    if (!el) return;
    el.textContent = formatDuration(run.duration_s);
    if (run.started_at) el.dataset.started = run.started_at;
    if (TERMINAL.has(run.state) || !run.started_at) delete el.dataset.running;
    else el.dataset.running = "";
  }

  setInterval(() => {
    for (const el of $$("[data-started][data-running]")) {
      el.textContent = formatDuration(Math.max(0, (Date.now() - Date.parse(el.dataset.started)) / 1000));
      const sep = el.previousElementSibling;
      if (sep && sep.classList.contains("sep")) sep.textContent = " · ";
    }
  }, 1000);

  // Buttons with `data-ask` (Cancel, Rerun) act only once the user confirms, in a modal dialog of
  // the page's own (no window.confirm: it blocks the page and its live updates).
  function ask(button) {
    return new Promise((resolve) => {
      const dialog = document.createElement("dialog");
      dialog.className = "ask";
      const text = Object.assign(document.createElement("p"), { textContent: button.dataset.ask });
      const no = Object.assign(document.createElement("button"), { type: "button", textContent: button.dataset.askNo || "Not now" });
      const yes = Object.assign(document.createElement("button"), { type: "button", textContent: button.dataset.askYes || "Yes" });
      yes.className = button.classList.contains("danger") ? "danger" : "primary";
      const row = document.createElement("div");
      row.className = "actions";
      row.append(no, yes);
      dialog.append(text, row);
      document.body.append(dialog);
      const close = (answer) => {
        dialog.close();
        dialog.remove();
        resolve(answer);
      };
      no.addEventListener("click", () => close(false));
      yes.addEventListener("click", () => close(true));
      dialog.addEventListener("cancel", (event) => {
        event.preventDefault();
        close(false);
      });
      dialog.showModal();
      no.focus();
    });
  }

  // -- everywhere: copy buttons, sortable tables -------------------------------------------------

  document.addEventListener("click", async (event) => {
    const copy = event.target.closest("[data-copy]");
    if (copy) {
      event.preventDefault();
      const text = copy.dataset.copy;
      try {
        await navigator.clipboard.writeText(text);
      } catch {
        const area = Object.assign(document.createElement("textarea"), { value: text });
        document.body.append(area);
        area.select();
        document.execCommand("copy");
        area.remove();
      }
      toast(`copied ${text}`);
      return;
    }
    const sort = event.target.closest("button.sort");
    if (sort) sortTable(sort);
    const post = event.target.closest("button[data-post]");
    if (post) postAction(post);
    const edit = event.target.closest("button[data-edit-schedule]");
    if (edit) editSchedule(edit.closest("tr"));
    if (event.target.closest("#schedule-edit-cancel")) location.reload();
    const diff = event.target.closest("button[data-diff-go]");
    if (diff) location.href = `${diff.dataset.diffGo}${$("#diff-old").value}/${$("#diff-new").value}`;
  });

  // Buttons that POST and reload the page (schedules); a data-confirm one asks for a second click.
  async function postAction(button) {
    if (button.dataset.confirm && button.dataset.armed !== "1") {
      const label = button.textContent;
      button.dataset.armed = "1";
      button.textContent = `${button.dataset.confirm} Click again to confirm`;
      setTimeout(() => {
        button.dataset.armed = "";
        button.textContent = label;
      }, 5000);
      return;
    }
    button.disabled = true;
    try {
      const result = await api("POST", button.dataset.post);
      sessionStorage.setItem("loopline-toast", result.detail || "done");
      location.reload();
    } catch (error) {
      toast(error.message, true);
      button.disabled = false;
    }
  }

  function sortTable(button) {
    const table = button.closest("table");
    const col = Number(button.dataset.col);
    const dir = button.dataset.dir === "asc" ? "desc" : "asc";
    $$("button.sort", table).forEach((b) => delete b.dataset.dir);
    button.dataset.dir = dir;
    const body = table.tBodies[0];
    const rows = Array.from(body.rows);
    const key = (row) => row.cells[col]?.dataset.v ?? "";
    const numeric = rows.every((r) => key(r) === "" || !Number.isNaN(Number(key(r))));
    rows.sort((a, b) => {
      const x = key(a), y = key(b);
      if (x === "" || y === "") return x === y ? 0 : x === "" ? 1 : -1; // missing values last
      const order = numeric ? Number(x) - Number(y) : x.localeCompare(y, undefined, { numeric: true });
      return dir === "asc" ? order : -order;
    });
    body.append(...rows);
  }

  // -- the runs page -----------------------------------------------------------------------------

  function runsPage(table) {
    const body = $("#runs-body");
    let refreshTimer = null;
    // New pipelines redraw the rows; the ones someone had opened are opened again.
    const refresh = () => {
      clearTimeout(refreshTimer);
      refreshTimer = setTimeout(async () => {
        const opened = $$('button.expand[aria-expanded="true"]', body).map((b) => b.dataset.expand);
        const response = await html("/fragments/runs" + location.search);
        body.innerHTML = await response.text();
        for (const id of opened) {
          const button = $(`button.expand[data-expand="${id}"]`, body);
          if (button) await expand(button);
        }
      }, 250);
    };
    body.addEventListener("click", (event) => {
      const button = event.target.closest("button.expand");
      if (!button) return;
      if (button.getAttribute("aria-expanded") === "true") {
        removeDescendants(button.dataset.expand);
        button.setAttribute("aria-expanded", "false");
      } else {
        expand(button);
      }
    });
    async function expand(button) {
      const row = button.closest("tr");
      const id = button.dataset.expand;
      const depth = Number(row.dataset.depth || 0) + 1;
      const response = await html(`/fragments/children/${id}?depth=${depth}`);
      const text = await response.text();
      const holder = document.createElement("tbody");
      holder.innerHTML = text;
      if (!holder.rows.length) {
        button.remove();
        toast("no nested runs");
        return;
      }
      row.after(...Array.from(holder.rows));
      button.setAttribute("aria-expanded", "true");
    }
    function removeDescendants(id) {
      for (const child of $$(`tr[data-parent="${id}"]`, body)) {
        removeDescendants(child.dataset.runId);
        child.remove();
      }
    }
    const nested = table.dataset.nested === "1";
    listen(`/api/v1/events?since=${since}${nested ? "" : "&roots=true"}`, {
      runs: (runs) => {
        for (const run of runs) {
          const row = $(`tr[data-run-id="${run.id}"]`, body);
          if (row) {
            const badge = $(".badge", row);
            if (badge && badge.dataset.state !== run.state) {
              setBadge(badge, run.state);
              row.classList.remove("flash");
              void row.offsetWidth;
              row.classList.add("flash");
            }
            const dur = $(".dur", row);
            if (dur) {
              dur.dataset.started = run.started_at || "";
              dur.dataset.ended = run.ended_at || "";
              dur.textContent = formatDuration(run.duration_s);
            }
          } else if (table.dataset.live === "1" && (nested || !run.parent_id)) {
            refresh();
          }
        }
      },
      resync: refresh,
    });
    setInterval(() => {
      for (const cell of $$("td.dur", body)) {
        if (cell.dataset.started && !cell.dataset.ended) {
          cell.textContent = formatDuration((Date.now() - Date.parse(cell.dataset.started)) / 1000);
        }
      }
    }, 1000);
  }

  // -- the run page ------------------------------------------------------------------------------

  function runPage(bar) {
    const rootId = bar.dataset.rootId;
    const graph = $("#graph");
    const panel = $("#panel");
    const tree = $("#tree");
    const opened = new Set(graph.dataset.open ? graph.dataset.open.split(",") : []);
    const closed = new Set(graph.dataset.closed ? graph.dataset.closed.split(",") : []);
    let selected = bar.dataset.selected;
    let tab = new URLSearchParams(location.search).get("tab") || "overview";
    let logSource = null;
    let scale = 1;

    function graphQuery() {
      const params = new URLSearchParams();
      if (opened.size) params.set("open", [...opened].join(","));
      if (closed.size) params.set("closed", [...closed].join(","));
      return params;
    }

    function pageUrl(runId) {
      const params = graphQuery();
      if (tab !== "overview") params.set("tab", tab);
      const query = params.toString();
      return `/runs/${runId}${query ? "?" + query : ""}`;
    }

    function markSelected() {
      $$(".selected", graph).forEach((el) => el.classList.remove("selected"));
      $$(".titem.selected", tree).forEach((el) => el.classList.remove("selected"));
      const node = $(`.node[data-run-id="${selected}"]`, graph) || $(`.group[data-run-id="${selected}"]`, graph);
      if (node) node.classList.add("selected");
      const item = $(`.titem[data-run-id="${selected}"]`, tree);
      if (item) item.classList.add("selected");
    }

    async function select(runId, push = true) {
      try {
        const response = await html(`/fragments/panel/${runId}?tab=${tab}`);
        panel.innerHTML = await response.text();
      } catch (error) {
        toast(`cannot open run ${runId}: ${error.message}`, true);
        return;
      }
      selected = runId;
      bar.dataset.selected = runId;
      if (push) history.pushState({ runId }, "", pageUrl(runId));
      markSelected();
      startLogs();
    }

    async function openFanout(parentId, fn) {
      const response = await html(`/fragments/fanout?parent_id=${encodeURIComponent(parentId)}&function=${encodeURIComponent(fn)}`);
      panel.innerHTML = await response.text();
      if (logSource) logSource.close();
    }

    let graphBusy = null;
    async function reloadGraph() {
      if (graphBusy) return graphBusy;
      graphBusy = (async () => {
        const params = graphQuery();
        params.set("selected", selected);
        const response = await html(`/fragments/graph/${rootId}?${params}`);
        graph.innerHTML = await response.text();
        const caption = response.headers.get("X-Graph-Caption");
        if (caption) $("#graph-caption").textContent = caption;
        applyScale();
        markSelected();
      })().finally(() => (graphBusy = null));
      return graphBusy;
    }

    async function reloadTree() {
      const response = await html(`/fragments/tree/${rootId}?selected=${selected}`);
      tree.innerHTML = await response.text();
    }

    // graph: click or Enter on a node opens it; toggles open and close groups
    function activate(target) {
      const toggle = target.closest("[data-toggle]");
      if (toggle) {
        const id = toggle.dataset.toggle;
        if (toggle.dataset.open === "1") {
          opened.delete(id);
          closed.add(id);
        } else {
          closed.delete(id);
          opened.add(id);
        }
        history.replaceState(history.state, "", pageUrl(selected));
        reloadGraph();
        return true;
      }
      const node = target.closest(".node");
      if (!node) return false;
      if (node.dataset.fanout !== undefined && node.classList.contains("fanout")) {
        openFanout(node.dataset.fanout, node.dataset.function);
      } else {
        select(node.dataset.runId);
      }
      return true;
    }
    graph.addEventListener("click", (event) => activate(event.target));
    graph.addEventListener("keydown", (event) => {
      if ((event.key === "Enter" || event.key === " ") && activate(event.target)) event.preventDefault();
    });

    // zoom and pan
    function svg() { return $("svg.graph", graph); }
    function applyScale() {
      const el = svg();
      if (!el) return;
      const [, , w, h] = el.getAttribute("viewBox").split(" ").map(Number);
      el.setAttribute("width", String(Math.round(w * scale)));
      el.setAttribute("height", String(Math.round(h * scale)));
    }
    // "fit" shows the whole graph: its width and its height within the pane's room (the node
    // budget keeps a fitted graph legible), never larger than life.
    function fit() {
      const el = svg();
      if (!el) return;
      const [, , w, h] = el.getAttribute("viewBox").split(" ").map(Number);
      const room = parseFloat(getComputedStyle(graph).maxHeight) || graph.clientHeight;
      scale = Math.max(0.1, Math.min(1, (graph.clientWidth - 8) / w, (room - 8) / h));
      applyScale();
      graph.scrollLeft = 0;
      graph.scrollTop = 0;
    }
    $$("[data-zoom]").forEach((b) => b.addEventListener("click", () => {
      const how = b.dataset.zoom;
      if (how === "fit") fit();
      else { scale = Math.max(0.1, Math.min(3, scale * (how === "in" ? 1.25 : 0.8))); applyScale(); }
    }));
    let drag = null;
    graph.addEventListener("mousedown", (e) => {
      if (e.target.closest(".node, [data-toggle]")) return;
      drag = { x: e.clientX, y: e.clientY, left: graph.scrollLeft, top: graph.scrollTop };
    });
    window.addEventListener("mousemove", (e) => {
      if (!drag) return;
      graph.scrollLeft = drag.left - (e.clientX - drag.x);
      graph.scrollTop = drag.top - (e.clientY - drag.y);
    });
    window.addEventListener("mouseup", () => (drag = null));
    fit();

    // tree and links inside the panel select without reloading the page
    document.addEventListener("click", (event) => {
      const link = event.target.closest(".titem[data-run-id], a[data-select]");
      if (!link || event.metaKey || event.ctrlKey || event.shiftKey) return;
      event.preventDefault();
      select(link.dataset.runId || link.dataset.select);
    });
    window.addEventListener("popstate", (event) => {
      const runId = (event.state && event.state.runId) || location.pathname.split("/").pop();
      select(runId, false);
    });

    // tabs
    panel.addEventListener("click", (event) => {
      const button = event.target.closest("[role=tab]");
      if (!button) return;
      showTab(button.dataset.tab);
    });
    panel.addEventListener("keydown", (event) => {
      const button = event.target.closest("[role=tab]");
      if (!button || !["ArrowLeft", "ArrowRight"].includes(event.key)) return;
      const tabs = $$("[role=tab]", panel);
      const next = tabs[(tabs.indexOf(button) + (event.key === "ArrowRight" ? 1 : tabs.length - 1)) % tabs.length];
      next.focus();
      showTab(next.dataset.tab);
    });
    function showTab(name) {
      tab = name;
      for (const button of $$("[role=tab]", panel)) button.setAttribute("aria-selected", String(button.dataset.tab === name));
      for (const pane of $$("[role=tabpanel]", panel)) pane.hidden = pane.id !== `pane-${name}`;
      history.replaceState(history.state, "", pageUrl(selected));
      if (name === "timeline") timelineView.reload();
    }
    const timelineView = timelinePane(panel, rootId, () => selected);

    // logs: the tail first, earlier output on request, then followed live; searchable
    let logGeneration = 0;
    function startLogs() {
      if (logSource) logSource.close();
      logSource = null;
      const generation = ++logGeneration;
      const merged = $("#pipeline-logs", panel);
      if (merged) {
        logSource = pipelineLogs(merged, panel);
        return;
      }
      const pre = $("#logs", panel);
      if (!pre) return;
      const runId = pre.dataset.runId;
      const search = $(".log-search", panel);
      const count = $(".log-count", panel);
      const follow = $(".log-follow", panel);
      const earlier = $(".log-earlier", panel);
      let lines = 0;
      let earlierUrl = null;
      const counted = () => {
        const needle = search.value.toLowerCase();
        const shown = pre.querySelectorAll("div:not(.hidden)").length;
        const noun = lines === 1 ? "line" : "lines";
        count.textContent = needle ? `${shown} of ${lines} ${noun}` : `${lines} ${noun}`;
      };
      const filterOne = (line) => {
        const needle = search.value.toLowerCase();
        line.classList.toggle("hidden", Boolean(needle) && !line.textContent.toLowerCase().includes(needle));
      };
      const filter = () => {
        for (const line of pre.children) filterOne(line);
        counted();
      };
      search.addEventListener("input", filter);
      const lineDivs = (chunk) => {
        const needle = search.value.toLowerCase();
        const parts = chunk.text.split("\n");
        if (parts[parts.length - 1] === "") parts.pop();
        return parts.map(plainLine).map((text) => {
          const line = document.createElement("div");
          line.className = chunk.stream === "stderr" ? "stderr" : "";
          line.textContent = text;
          if (needle && !text.toLowerCase().includes(needle)) line.classList.add("hidden");
          return line;
        });
      };
      // The chunks' lines, a line cut between two chunks joined into one div; `open` says the
      // last chunk ended inside a line (the next text goes on with it).
      const joinedDivs = (chunks, open, last) => {
        const divs = [];
        for (const chunk of chunks) {
          const parts = lineDivs(chunk);
          const tail = divs.length ? divs[divs.length - 1] : last;
          if (open && tail && parts.length) {
            tail.textContent += parts.shift().textContent;
            filterOne(tail);
          }
          divs.push(...parts);
          if (chunk.text) open = !chunk.text.endsWith("\n");
        }
        return { divs, open };
      };
      let lineOpen = false; // the last chunk shown ended inside a line
      const append = (chunks) => {
        const { divs, open } = joinedDivs(chunks, lineOpen, pre.lastElementChild);
        lineOpen = open;
        pre.append(...divs);
        lines += divs.length;
        counted();
        if (follow.checked) pre.scrollTop = pre.scrollHeight;
      };
      const offerEarlier = (answer) => {
        earlierUrl = answer.earlier;
        earlier.hidden = !earlierUrl;
        earlier.textContent = `Load earlier output (${answer.offset.toLocaleString()} characters before)`;
      };
      earlier.onclick = async () => {
        earlier.disabled = true;
        try {
          const answer = await api("GET", earlierUrl);
          const height = pre.scrollHeight;
          const { divs, open } = joinedDivs(answer.chunks, false, null);
          const first = pre.firstElementChild;
          if (first && divs.length && open) {
            first.textContent = divs.pop().textContent + first.textContent; // one line, cut by the window
            filterOne(first);
          }
          pre.prepend(...divs);
          lines += divs.length;
          pre.scrollTop += pre.scrollHeight - height; // the lines in view stay in view
          offerEarlier(answer);
          counted();
        } catch (error) {
          toast(error.message, true);
        } finally {
          earlier.disabled = false;
        }
      };
      (async () => {
        let after = 0;
        try {
          const answer = await api("GET", `/api/v1/runs/${runId}/logs`);
          if (generation !== logGeneration) return;
          append(answer.chunks);
          offerEarlier(answer);
          after = answer.last_seq;
        } catch (error) {
          toast(error.message, true);
        }
        if (generation !== logGeneration) return;
        logSource = listen(`/api/v1/runs/${runId}/logs/stream?after=${after}`, {
          log: (chunk) => append([chunk]),
          metrics: async () => {
            const box = $("#metrics", panel);
            if (!box) return;
            const response = await html(`/fragments/metrics/${runId}`);
            box.innerHTML = await response.text();
          },
          end: () => logSource && logSource.close(),
        });
      })();
    }

    // actions
    bar.addEventListener("click", actionHandler);
    panel.addEventListener("click", actionHandler);
    async function actionHandler(event) {
      const button = event.target.closest("[data-action]");
      if (!button || button.disabled) return;
      if (button.dataset.ask && !(await ask(button))) return;
      button.disabled = true;
      try {
        if (button.dataset.action === "cancel") {
          const result = await api("POST", `/api/v1/runs/${button.dataset.runId}/cancel`);
          toast(result.detail);
        } else {
          const body = button.dataset.from ? { from_run_id: button.dataset.from } : {};
          toast("starting the rerun…");
          const result = await api("POST", `/api/v1/runs/${button.dataset.runId}/rerun`, body);
          location.href = `/runs/${result.run_id}`;
        }
      } catch (error) {
        toast(error.message, true);
      } finally {
        button.disabled = false;
      }
    }

    // notes
    panel.addEventListener("submit", async (event) => {
      const form = event.target.closest(".note-form");
      if (!form) return;
      event.preventDefault();
      const body = form.elements.body.value;
      try {
        await api("POST", `/api/v1/runs/${form.dataset.runId}/notes`, { body });
        form.reset();
        const response = await html(`/fragments/notes/${form.dataset.runId}`);
        $("#notes", panel).innerHTML = await response.text();
      } catch (error) {
        toast(error.message, true);
      }
    });

    // live: states change in place; new runs redraw the graph and the tree (at most every 1.5 s)
    let structureTimer = null;
    let lastStructure = 0;
    function structureChanged() {
      if (structureTimer) return;
      const wait = Math.max(300, 1500 - (Date.now() - lastStructure));
      structureTimer = setTimeout(async () => {
        structureTimer = null;
        lastStructure = Date.now();
        await Promise.all([reloadGraph(), reloadTree()]);
        markSelected();
      }, wait);
    }
    let panelTimer = null;
    listen(`/api/v1/events?root_id=${rootId}&since=${since}`, {
      runs: (runs) => {
        let unknown = false;
        for (const run of runs) {
          const node = $(`.node.run[data-run-id="${run.id}"]`, graph);
          const head = $(`.group[data-run-id="${run.id}"] .dot`, graph);
          const item = $(`.titem[data-run-id="${run.id}"]`, tree);
          if (node) {
            replaceState(node, run.state);
            $$(".stripe", node).forEach((s) => replaceState(s, run.state));
            const sub = $(".sstate", node);
            if (sub) sub.textContent = shown(run.state);
            const took = $(".took", node);
            setClock(took, run);
            if (took) $(".sep", node).textContent = took.textContent ? " · " : "";
            node.setAttribute("aria-label", `${run.name}: ${shown(run.state)}`);
          }
          if (head) { replaceState(head, run.state); replaceState(head.closest(".group"), run.state); }
          if (item) {
            replaceState(item, run.state);
            const dot = $(".dot", item);
            if (dot) replaceState(dot, run.state);
            setClock($(".tdur", item), run);
            const spoken = $(".tstate", item);
            if (spoken) spoken.textContent = shown(run.state);
          }
          if (!item || (!node && !head)) unknown = true;
          if (run.id === rootId) {
            setBadge($("#root-state .badge"), run.state);
            const clock = $("#root-duration");
            setClock(clock, run);
            clock.textContent ||= "—";
            $("#cancel-button").hidden = TERMINAL.has(run.state);
          }
          if (run.id === selected) {
            const head = $(".panel-head", panel);
            if (head && head.dataset.state !== run.state) {
              head.dataset.state = run.state;
              setBadge($(".panel-state .badge", panel), run.state);
              if (TERMINAL.has(run.state)) {
                clearTimeout(panelTimer);
                panelTimer = setTimeout(async () => {
                  const response = await html(`/fragments/panel/${selected}?tab=${tab}`);
                  panel.innerHTML = await response.text();
                  startLogs();
                }, 600);
              }
            }
          }
        }
        if (unknown) structureChanged();
        timelineView.changed();
      },
      resync: structureChanged,
    });
    startLogs();
    markSelected();
  }

  // -- the labeling page -------------------------------------------------------------------------

  function typing(event) {
    return event.target.closest("input, textarea, select") || event.metaKey || event.ctrlKey || event.altKey;
  }

  function labelingPage(root) {
    const queue = encodeURIComponent(root.dataset.queue);
    const who = $("#labeler");
    if (!who.readOnly) who.value = localStorage.getItem("loopline-labeler") || who.value;  // signed in: yourself
    const options = $$(".label-opt", root);
    const byKey = new Map(options.filter((b) => b.dataset.key).map((b) => [b.dataset.key, b]));
    const commit = $("#commit-form");
    commit.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        const result = await api("POST", `/api/v1/labeling/${queue}/commit`, {
          dataset: commit.elements.dataset.value,
          reviewed_only: commit.elements.reviewed_only.checked,
        });
        sessionStorage.setItem("loopline-toast", result.dataset ? `${result.dataset}: +${result.added} examples, ${result.relabeled} relabeled` : "nothing ready to commit");
        location.reload();
      } catch (error) {
        toast(error.message, true);
      }
    });
    if (root.dataset.mode === "review") reviewMode(root, who, byKey);
    else labelMode(root, queue, who, byKey);
  }

  function labelMode(root, queue, who, byKey) {
    const pane = $("#task");
    let held = [];  // claimed, not yet shown
    let current = null;
    let busy = false;
    let done = 0;
    let labeler = who.value;

    async function next() {
      if (!held.length) {
        held = await api("POST", `/api/v1/labeling/${queue}/claim`, { labeler, limit: 3 });
      }
      current = held.shift() || null;
      if (!current) {
        pane.innerHTML = '<p class="muted" id="queue-empty">Nothing left to label in this queue: every task is labeled or claimed by someone else.</p>';
        return;
      }
      const response = await html(`/fragments/labeling/task/${current.id}`);
      pane.innerHTML = await response.text();
    }

    async function act(path, body, message) {
      if (!current || busy) return;
      busy = true;
      const task = current;
      try {
        await api("POST", `/api/v1/labeling/tasks/${task.id}/${path}`, { labeler, ...body });
        if (path === "label") $("#done-count").textContent = String((done += 1));
        toast(message);
      } catch (error) {
        toast(error.message, true);
      }
      try {
        await next();
      } catch (error) {
        toast(error.message, true);
      } finally {
        busy = false;
      }
    }

    const label = (value) => act("label", { label: value }, `#${current && current.id} labeled ${JSON.stringify(value)}`);
    const skip = () => act("skip", {}, `#${current && current.id} skipped`);
    root.addEventListener("click", (event) => {
      const option = event.target.closest(".label-opt");
      if (option) label(JSON.parse(option.dataset.label));
      else if (event.target.closest("[data-accept]") && current) label(current.suggestion);
      else if (event.target.closest("[data-skip]")) skip();
    });
    $("#other-label").addEventListener("submit", (event) => {
      event.preventDefault();
      const input = event.target.elements.label;
      const text = input.value.trim();
      if (!text) return;
      const number = Number(text);
      label(/^-?\d+$/.test(text) && Number.isSafeInteger(number) ? number : text);
      input.value = "";
    });
    document.addEventListener("keydown", (event) => {
      if (typing(event)) return;
      const option = byKey.get(event.key);
      if (option) {
        event.preventDefault();
        label(JSON.parse(option.dataset.label));
      } else if (event.key === "Enter" && current && !event.target.closest("button, a")) {
        event.preventDefault();
        label(current.suggestion);
      } else if (event.key === "s" || event.key === "S") {
        event.preventDefault();
        skip();
      }
    });

    function release(keepalive) {
      const tasks = [current, ...held].filter(Boolean);
      for (const task of tasks) {
        fetch(`/api/v1/labeling/tasks/${task.id}/release`, {
          method: "POST",
          keepalive,
          headers: { "Content-Type": "application/json", "X-Loopline-Token": token },
          body: JSON.stringify({ labeler }),
        }).catch(() => {});
      }
      held = [];
      current = null;
    }
    window.addEventListener("pagehide", () => release(true));
    who.addEventListener("change", () => {
      const name = who.value.trim();
      if (!name || name === labeler) return;
      release(false);
      labeler = name;
      localStorage.setItem("loopline-labeler", name);
      next().catch((error) => toast(error.message, true));
    });
    next().catch((error) => {
      pane.innerHTML = "";
      toast(error.message, true);
    });
  }

  function reviewMode(root, who, byKey) {
    const cards = () => $$(".review-card:not(.done)", root);
    function focus() {
      $$(".review-card.current", root).forEach((c) => c.classList.remove("current"));
      const first = cards()[0];
      if (first) {
        first.classList.add("current");
        first.focus({ preventScroll: false });
      }
    }
    async function review(card, approve, label) {
      if (!card || card.classList.contains("busy")) return;
      card.classList.add("busy");
      const body = { reviewer: who.value.trim() || "reviewer", approve };
      if (label !== undefined) body.label = label;
      try {
        await api("POST", `/api/v1/labeling/tasks/${card.dataset.taskId}/review`, body);
        card.classList.add("done", approve ? "approved" : "rejected");
        toast(`#${card.dataset.taskId} ${approve ? "approved" : "sent back"}`);
      } catch (error) {
        card.classList.add("done");
        toast(error.message, true);
      }
      card.classList.remove("busy");
      focus();
    }
    root.addEventListener("click", (event) => {
      const button = event.target.closest("[data-review]");
      if (button) review(button.closest(".review-card"), button.dataset.review === "approve");
    });
    document.addEventListener("keydown", (event) => {
      if (typing(event)) return;
      const card = $(".review-card.current", root);
      const option = byKey.get(event.key);
      if (event.key === "a" || event.key === "A") review(card, true);
      else if (event.key === "r" || event.key === "R") review(card, false);
      else if (option) review(card, true, JSON.parse(option.dataset.label));
      else return;
      event.preventDefault();
    });
    who.addEventListener("change", () => localStorage.setItem("loopline-labeler", who.value.trim()));
    focus();
  }

  // -- schedules page: the form that adds one, or edits one ---------------------------------------

  // "--name 'a b' --n 3" -> ["--name", "a b", "--n", "3"] (quotes group words, as in a shell)
  function shellWords(text) {
    return (text.match(/"[^"]*"|'[^']*'|\S+/g) || []).map((word) => word.replace(/^(["'])(.*)\1$/, "$2"));
  }

  // The inverse, for showing recorded parameters in the form.
  function shellQuote(word) {
    if (word && !/[\s"']/.test(word)) return word;
    return word.includes('"') ? `'${word}'` : `"${word}"`;
  }

  // Delegated from the document: the page may have been read again since it loaded.
  document.addEventListener("submit", (event) => {
    if (event.target.id !== "schedule-form") return;
    event.preventDefault();
    saveSchedule(event.target);
  });

  // "Edit" fills the add form with a schedule's row and turns it into an edit form.
  function editSchedule(row) {
    const editor = $("#schedule-editor");
    const form = $("#schedule-form", editor);
    const fields = form.elements;
    const d = row.dataset;
    form.dataset.edit = d.schedule;
    fields.name.value = d.schedule;
    fields.name.readOnly = true;
    fields.target.value = d.target;
    fields.params.value = JSON.parse(d.params).map(shellQuote).join(" ");
    fields.kind.value = d.cron !== undefined ? "cron" : "dataset";
    fields.cron.value = d.cron || "";
    fields.timezone.value = d.timezone || "UTC";
    fields.dataset.value = d.dataset || "";
    fields.min_new.value = d.minNew || "";
    fields.webhook.value = fields.webhook.dataset.initial = d.webhook || "";
    fields.webhook_format.value = d.webhookFormat || "json";
    const several = Number(d.webhooks) > 1;
    fields.webhook.disabled = several;
    if (several) fields.webhook.placeholder = `${d.webhooks} webhooks: change them with loopline schedule edit`;
    $("summary", editor).textContent = `Edit ${d.schedule}`;
    $("button[type=submit]", form).textContent = "Save changes";
    $("#schedule-edit-cancel").hidden = false;
    editor.open = true;
    editor.scrollIntoView({ block: "nearest" });
    fields.target.focus();
  }

  async function saveSchedule(form) {
    const fields = new FormData(form);
    const text = (name) => String(fields.get(name) || "").trim();
    const editing = form.dataset.edit;
    const body = { target: text("target"), params: shellWords(text("params")) };
    if (fields.get("kind") === "dataset") {
      body.dataset = text("dataset");
      body.min_new = /^\d+$/.test(text("min_new")) ? Number(text("min_new")) : null;
    } else {
      body.cron = text("cron");
      body.timezone = text("timezone") || "UTC";
    }
    const webhook = form.elements.webhook;
    if (!editing || (!webhook.disabled && text("webhook") !== webhook.dataset.initial)) {
      body.webhooks = text("webhook") ? [text("webhook")] : [];
      body.webhook_format = text("webhook_format") || "json";
    }
    const button = $("button[type=submit]", form);
    button.disabled = true;
    try {
      if (editing) {
        await api("POST", `/api/v1/schedules/${encodeURIComponent(editing)}/edit`, body);
        sessionStorage.setItem("loopline-toast", `schedule ${editing} saved`);
      } else {
        body.name = text("name");
        await api("POST", "/api/v1/schedules", body);
        sessionStorage.setItem("loopline-toast", `schedule ${body.name} added`);
      }
      location.reload();
    } catch (error) {
      toast(error.message, true);
    } finally {
      button.disabled = false;
    }
  }

  // -- pages that follow pipeline runs ----------------------------------------------------------

  // Calls `reload()` (at most every `delay` ms) whenever a pipeline run changes state.
  // Runs `fn` at most once per `delay` ms, `delay` after the first call of a burst: a steady
  // stream of changes still refreshes the page, every `delay` ms.
  function throttled(delay, fn) {
    let timer = null;
    return () => {
      timer ??= setTimeout(() => {
        timer = null;
        fn();
      }, delay);
    };
  }

  function onPipelineChanges(delay, reload, records = "") {
    const later = throttled(delay, reload);
    const url = `/api/v1/events?since=${since}&roots=true${records}`;
    listen(url, { runs: later, resync: later, records: later });
  }

  function pipelinesPage(body) {
    onPipelineChanges(500, async () => {
      body.innerHTML = await (await html("/fragments/pipelines")).text();
    });
  }

  // Record pages (datasets, models, reports, schedules, inferences, queues, loops) are read again
  // when their records change (the kinds in `data-live-main`, from the page's revision
  // `data-seen` on) or a pipeline run changes state, unless someone has started filling in a
  // field there or opened a form (an open `[data-hold-refresh]`): their work wins.
  function liveMain(main) {
    main.addEventListener("input", () => (main.dataset.edited = "1"));
    const records = `&records=${encodeURIComponent(main.dataset.liveMain)}&seen=${main.dataset.seen}`;
    onPipelineChanges(
      1000,
      async () => {
        if (main.dataset.edited || $("[data-hold-refresh][open]", main)) return;
        const response = await html(location.pathname + location.search);
        const fresh = new DOMParser().parseFromString(await response.text(), "text/html").querySelector("main");
        if (fresh && fresh.innerHTML !== main.innerHTML) main.innerHTML = fresh.innerHTML;
      },
      records,
    );
  }

  // Plotly figures are drawn by plotly.js, which the server serves from its `plotly` package,
  // loaded once, the first time a page shows one. The <style> elements plotly.js would write are
  // refused by the policy: the server serves them as style sheets, linked first under the ids
  // plotly.js looks for (and the class that tells it the rules are there already).
  let plotlyReady = null;
  async function linkPlotlySheets() {
    const response = await fetch("/vendor/plotly-sheets.json").catch(() => null);
    const { sheets } = response?.ok ? await response.json() : { sheets: [] };
    for (const { id, href } of sheets) {
      if (document.getElementById(id)) continue;
      document.head.append(
        Object.assign(document.createElement("link"), { id, href, rel: "stylesheet", className: "no-inline-styles" }),
      );
    }
  }
  function loadPlotly() {
    plotlyReady ??= linkPlotlySheets().then(() => new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = "/vendor/plotly.min.js";
      script.onload = () => resolve(window.Plotly);
      script.onerror = () => {
        plotlyReady = null;
        reject(new Error("the server has no plotly.js (pip install plotly where it runs)"));
      };
      document.head.append(script);
    }));
    return plotlyReady;
  }

  async function drawFigures(root) {
    for (const box of $$(".plotly-figure:not([data-drawn])", root)) {
      box.dataset.drawn = "1";
      try {
        const response = await fetch(box.dataset.figure);
        if (!response.ok) throw new Error((await response.json()).detail);
        const [Plotly, figure] = await Promise.all([loadPlotly(), response.json()]);
        await Plotly.newPlot(box, figure.data, figure.layout, { responsive: true, displaylogo: false });
      } catch (error) {
        box.textContent = `This plotly figure cannot be drawn here: ${error.message}`;
        box.classList.add("muted");
      }
    }
  }

  // The policy (Content-Security-Policy) lets no markup carry a style: numbers a style needs
  // (a row's depth, a rate, a confidence, a cell's shade) come as data attributes, set here as
  // custom properties (which the policy allows from this script) on every element that arrives.
  const STYLE_NUMBERS = { depth: "--depth", rate: "--rate", confidence: "--c", alpha: "--a" };
  const STYLED = Object.keys(STYLE_NUMBERS).map((key) => `[data-${key}]`).join(",");
  function applyStyleNumbers(root) {
    const found = root.matches(STYLED) ? [root, ...$$(STYLED, root)] : $$(STYLED, root);
    for (const el of found) {
      for (const [key, property] of Object.entries(STYLE_NUMBERS)) {
        if (key in el.dataset) el.style.setProperty(property, el.dataset[key]);
      }
    }
  }

  // Moments come in UTC (`time[data-utc]`); each is shown in the reader's time zone, UTC on hover.
  const pad = (n) => String(n).padStart(2, "0");
  const zoneName = (d) =>
    (new Intl.DateTimeFormat(undefined, { timeZoneName: "short" }).formatToParts(d).find((p) => p.type === "timeZoneName") || {}).value || "";
  function localTimes(root) {
    const found = root.matches("time[data-utc]") ? [root] : $$("time[data-utc]", root);
    for (const el of found) {
      const d = new Date(el.getAttribute("datetime"));
      if (Number.isNaN(d.getTime()) || el.dataset.local === "1") continue;
      el.dataset.local = "1";
      el.title = el.dataset.utc;
      el.textContent = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
        `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())} ${zoneName(d)}`.trimEnd();
    }
  }

  new MutationObserver((changes) => {
    for (const change of changes) {
      for (const node of change.addedNodes) {
        if (node instanceof Element) {
          applyStyleNumbers(node);
          localTimes(node);
        }
      }
    }
    drawFigures(document);
  }).observe(document.documentElement, {
    childList: true,
    subtree: true,
  });

  document.addEventListener("DOMContentLoaded", () => {
    applyStyleNumbers(document.documentElement);
    localTimes(document.documentElement);
    drawFigures(document);
    const flash = sessionStorage.getItem("loopline-toast");
    if (flash) {
      sessionStorage.removeItem("loopline-toast");
      toast(flash);
    }
    const table = $("#runs-table");
    if (table) runsPage(table);
    const bar = $("#pipeline-bar");
    if (bar) runPage(bar);
    const labeling = $("#labeling");
    if (labeling) labelingPage(labeling);
    const pipelines = $("#pipelines-body");
    if (pipelines) pipelinesPage(pipelines);
    const liveRecords = $("main[data-live-main]");
    if (liveRecords) liveMain(liveRecords);
  });

  // -- pipeline-wide logs and the timeline (issue 17.4) ------------------------------------------

  // A run with nested runs shows the output of all of them, merged in the order it was written:
  // the last page first, earlier pages on request, then newer output (polled with `after_seq`)
  // while the run is at work. Each line is tagged with its step, a link that selects it. The step,
  // the stream and the text narrow what the server sends; the text also picks lines out of chunks.
  function pipelineLogs(pre, panel) {
    const runId = pre.dataset.runId;
    const stepSelect = $(".plog-step", panel);
    const streamSelect = $(".plog-stream", panel);
    const search = $(".log-search", panel);
    const count = $(".log-count", panel);
    const follow = $(".log-follow", panel);
    const earlier = $(".log-earlier", panel);
    const empty = $(".log-empty", panel);
    const emptyText = empty.textContent;
    const steps = new Set();
    let generation = 0;
    let timer = null;
    let lines = 0;
    let earlierUrl = null;

    const needle = () => search.value.trim();
    const url = (cursor) => {
      const params = new URLSearchParams(cursor);
      if (stepSelect.value) params.set("step", stepSelect.value);
      if (streamSelect.value) params.set("stream", streamSelect.value);
      if (needle()) params.set("q", needle());
      return `/api/v1/runs/${runId}/pipeline-logs?${params}`;
    };
    const loadSteps = async () => {
      for (const step of await api("GET", `/api/v1/runs/${runId}/pipeline-logs/steps`)) {
        if (steps.has(step.run_id)) continue;
        steps.add(step.run_id);
        const option = document.createElement("option");
        option.value = step.run_id;
        option.textContent = step.name;
        stepSelect.append(option);
      }
    };
    const lineDivs = (chunk) => {
      const wanted = needle().toLowerCase();
      const parts = chunk.text.split("\n");
      if (parts[parts.length - 1] === "") parts.pop();
      return parts.map(plainLine).filter((text) => !wanted || text.toLowerCase().includes(wanted)).map((text) => {
        const line = document.createElement("div");
        line.className = chunk.stream === "stderr" ? "pline stderr" : "pline";
        line.dataset.runId = chunk.run_id;
        line.dataset.stream = chunk.stream;
        const tag = document.createElement("a");
        tag.className = "ptag";
        tag.href = `/runs/${chunk.run_id}`;
        tag.dataset.select = chunk.run_id;
        tag.title = `${chunk.run_name} · ${chunk.stream}`;
        tag.textContent = chunk.run_name;
        const body = document.createElement("span");
        body.className = "ptext";
        body.textContent = text;
        line.append(tag, body);
        return line;
      });
    };
    const counted = () => {
      count.textContent = `${lines.toLocaleString()} line${lines === 1 ? "" : "s"}`;
      const narrowed = stepSelect.value || streamSelect.value || needle();
      empty.textContent = narrowed ? "No output matches." : emptyText;
    };
    // A step's line cut between two of its chunks is one line: the next chunk of that step and
    // stream goes on with it (other steps' chunks may come between).
    const unfinished = new Map();
    const joined = (chunk) => {
      const key = `${chunk.run_id} ${chunk.stream}`;
      const open = unfinished.get(key);
      let text = chunk.text;
      if (open && text) {
        const end = text.indexOf("\n");
        const head = end < 0 ? text : text.slice(0, end);
        $(".ptext", open).textContent += plainLine(head);
        text = end < 0 ? "" : text.slice(end + 1);
        if (end >= 0) unfinished.delete(key);
      }
      const divs = lineDivs({ ...chunk, text });
      if (text && !text.endsWith("\n") && divs.length) unfinished.set(key, divs[divs.length - 1]);
      return divs;
    };
    const add = (chunks, before) => {
      const divs = before ? chunks.flatMap(lineDivs) : chunks.flatMap(joined);
      if (before) {
        const height = pre.scrollHeight;
        pre.prepend(...divs);
        pre.scrollTop += pre.scrollHeight - height; // the lines in view stay in view
      } else {
        pre.append(...divs);
        if (follow.checked) pre.scrollTop = pre.scrollHeight;
      }
      lines += divs.length;
      counted();
      if (chunks.some((c) => !steps.has(c.run_id))) loadSteps().catch(() => {});
    };
    const offerEarlier = (answer) => {
      earlierUrl = answer.earlier;
      earlier.hidden = !earlierUrl;
      earlier.textContent = "Load earlier output";
    };
    earlier.onclick = async () => {
      earlier.disabled = true;
      try {
        const answer = await api("GET", earlierUrl);
        add(answer.chunks, true);
        offerEarlier(answer);
      } catch (error) {
        toast(error.message, true);
      } finally {
        earlier.disabled = false;
      }
    };
    const follows = (mine, after, delay) => {
      clearTimeout(timer);
      timer = setTimeout(async () => {
        if (mine !== generation) return;
        try {
          const answer = await api("GET", url({ after_seq: after }));
          if (mine !== generation) return;
          add(answer.chunks, false);
          if (answer.later) follows(mine, answer.last_seq, 0);
          else if (!answer.finished || answer.chunks.length) follows(mine, answer.last_seq, 1000);
        } catch (error) {
          follows(mine, after, 3000); // the server may be restarting: try again
        }
      }, delay);
    };
    const start = async () => {
      const mine = ++generation;
      clearTimeout(timer);
      pre.replaceChildren();
      unfinished.clear();
      lines = 0;
      earlier.hidden = true;
      try {
        const answer = await api("GET", url({}));
        if (mine !== generation) return;
        add(answer.chunks, false);
        offerEarlier(answer);
        if (!answer.finished || answer.later) follows(mine, answer.last_seq, answer.later ? 0 : 1000);
      } catch (error) {
        toast(error.message, true);
      }
    };
    let typed = null;
    search.addEventListener("input", () => {
      clearTimeout(typed);
      typed = setTimeout(start, 300);
    });
    stepSelect.addEventListener("change", start);
    streamSelect.addEventListener("change", start);
    loadSteps().catch((error) => toast(error.message, true));
    start();
    return {
      close() {
        generation += 1;
        clearTimeout(timer);
      },
    };
  }

  // The Timeline tab: drawn on the server, fetched when the tab shows, redrawn (at most every
  // 1.5 s) when runs change and every 5 s while the pipeline is at work, so running bars grow.
  function timelinePane(panel, rootId, selectedRun) {
    let timer = null;
    const box = () => {
      const found = $("#timeline", panel);
      return found && !found.closest("[hidden]") ? found : null;
    };
    const atWork = () => {
      const badge = $("#root-state .badge");
      return Boolean(badge) && !TERMINAL.has(badge.dataset.state);
    };
    const reload = async () => {
      const target = box();
      if (!target) return;
      try {
        const response = await html(`/fragments/timeline/${rootId}?selected=${encodeURIComponent(selectedRun())}`);
        target.innerHTML = await response.text();
      } catch (error) {
        toast(`cannot draw the timeline: ${error.message}`, true);
      }
    };
    const later = (delay) => {
      if (timer) return;
      timer = setTimeout(async () => {
        timer = null;
        await reload();
        if (atWork() && box()) later(5000);
      }, delay);
    };
    return {
      reload: () => reload().then(() => atWork() && later(5000)),
      changed: () => box() && later(1500),
    };
  }
})();

// -- Compare runs and search as you type (issue 17.2) -------------------------------------------
// Kept apart from the block above: the runs list's ticks and Compare button, its filters applied
// while typing, and the compare page's "only the differences".
(() => {
  "use strict";
  const $ = (sel, root = document) => root.querySelector(sel);
  const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));
  const TYPING_MS = 300;

  // The ticked runs are kept while rows are redrawn (live updates, a new search, nested runs
  // unfolded), so runs found by different searches can be compared.
  function comparePicker(form, body) {
    const button = $("button", form);
    const most = Number(form.dataset.most || 10);
    const chosen = new Set($$("input.pick:checked", body).map((box) => box.value));
    function update() {
      button.textContent = `Compare (${chosen.size})`;
      button.disabled = chosen.size < 2 || chosen.size > most;
      button.title =
        chosen.size > most ? `at most ${most} runs: untick ${chosen.size - most}` : `tick 2 to ${most} runs to compare them`;
    }
    body.addEventListener("change", (event) => {
      const box = event.target.closest("input.pick");
      if (!box) return;
      if (box.checked) chosen.add(box.value);
      else chosen.delete(box.value);
      update();
    });
    new MutationObserver(() => {
      for (const box of $$("input.pick", body)) box.checked = chosen.has(box.value);
    }).observe(body, { childList: true });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (chosen.size < 2 || chosen.size > most) return;
      location.href = "/compare?" + new URLSearchParams([...chosen].map((id) => ["run", id]));
    });
    update();
  }

  // Text filters apply as they are typed (and the state chips and the pipeline as they change):
  // the rows are read again, the address updated, and the count and the next page's link with them.
  function searchAsYouType(filters, body) {
    let timer = null;
    let asked = 0;
    async function reload() {
      const params = new URLSearchParams();
      for (const [name, value] of new FormData(filters)) if (String(value).trim()) params.append(name, value);
      const query = params.toString();
      const ask = ++asked;
      const total = $("#total");
      try {
        const response = await fetch("/fragments/runs" + (query ? "?" + query : ""), { headers: { Accept: "text/html" } });
        if (!response.ok) throw new Error(`${response.status} ${response.statusText}`);
        const rows = await response.text();
        if (ask !== asked) return; // a later keystroke's answer is the one to show
        body.innerHTML = rows;
        history.replaceState(null, "", "/runs" + (query ? "?" + query : ""));
        if (total) total.textContent = response.headers.get("X-Runs-Total") || "";
        const table = $("#runs-table");
        if (table) table.dataset.live = "1";
        const pager = $("nav.pager");
        if (pager) {
          pager.replaceChildren();
          const next = response.headers.get("X-Runs-Next");
          if (next) {
            const link = Object.assign(document.createElement("a"), { className: "button ghost", id: "next-page", href: next });
            link.textContent = "Older »";
            pager.append(link);
          }
        }
      } catch (error) {
        if (ask === asked && total) total.textContent = `could not search: ${error.message}`;
      }
    }
    const later = () => {
      clearTimeout(timer);
      timer = setTimeout(reload, TYPING_MS);
    };
    filters.addEventListener("input", (event) => {
      if (event.target.matches("input[type=search], input[type=text]")) later();
    });
    filters.addEventListener("change", (event) => {
      if (event.target.matches("select, fieldset.states input")) later();
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    const body = $("#runs-body");
    const form = $("#compare");
    if (body && form) comparePicker(form, body);
    const filters = $("#filters");
    if (body && filters) searchAsYouType(filters, body);
    const only = $("#only-differences");
    const table = $("#compare-table");
    if (only && table) {
      const apply = () => table.classList.toggle("only-differences", only.checked);
      only.addEventListener("change", apply);
      apply();
    }
  });
})();

// -- long values stay compact (issue 17.7) ------------------------------------------------------
// A table longer than its summary (`.v-frame[data-rows]`) shows its first page as the server drew
// it; its pager and header buttons fetch other pages, sorted over the whole table, from
// /api/v1/artifacts/ID/rows. A long text (`.v-fold`) gets a button that unfolds its box.
(() => {
  "use strict";
  const $ = (sel, root = document) => root.querySelector(sel);
  const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));
  const token = ($("meta[name=loopline-token]") || {}).content || "";
  const count = (n) => n.toLocaleString("en-US");

  // Python's format(x, ".6g"), as the server draws numbers (`number` in rendering/formats.py).
  function g6(x) {
    if (!Number.isFinite(x)) return String(x);
    if (x === 0) return "0";
    const strip = (s) => (s.includes(".") ? s.replace(/\.?0+$/, "") : s);
    const [mantissa, exp] = x.toExponential(5).split("e");
    const e = Number(exp);
    if (e < -4 || e >= 6) return `${strip(mantissa)}e${e < 0 ? "-" : "+"}${String(Math.abs(e)).padStart(2, "0")}`;
    return strip(x.toFixed(Math.max(0, 5 - e)));
  }

  // A cell as the server's `cell` filter draws it; `dtype` tells a float 3.0 from an int 3.
  function cellText(v, dtype) {
    if (v === null || v === "nan") return "NaN";
    if (typeof v === "boolean") return v ? "True" : "False";
    if (typeof v === "number") {
      if (!Number.isInteger(v) || /float/.test(dtype)) return g6(v);
      return Math.abs(v) >= 10000 ? count(v) : String(v);
    }
    return typeof v === "string" ? v : JSON.stringify(v);
  }

  function cell(tag, v, dtype) {
    const el = document.createElement(tag);
    if (tag === "th") el.scope = "row";
    if (v === null || v === "nan") el.className = "na";
    el.textContent = cellText(v, dtype);
    return el;
  }

  function wire(frame) {
    if (frame.dataset.wired) return;
    frame.dataset.wired = "1";
    frame.dataset.offset = "0";
    $$(".pager button", frame).forEach((b) => (b.hidden = false));
  }

  async function load(frame, offset) {
    const status = $(".page-status", frame);
    const params = new URLSearchParams({ offset: String(offset), limit: frame.dataset.page });
    if (frame.dataset.sort) params.set("sort", frame.dataset.sort);
    if (frame.dataset.descending === "1") params.set("descending", "1");
    frame.classList.add("loading");
    try {
      const response = await fetch(`${frame.dataset.rows}?${params}`, {
        headers: { Accept: "application/json", "X-Loopline-Token": token },
      });
      const data = await response.json().catch(() => ({}));
      if (!response.ok) throw new Error(data.detail || `${response.status} ${response.statusText}`);
      draw(frame, data);
    } catch (error) {
      status.textContent = `These rows could not be loaded: ${error.message}`;
      status.classList.add("bad");
    } finally {
      frame.classList.remove("loading");
    }
  }

  function draw(frame, data) {
    const dtypes = $$("thead .dtype", frame).map((el) => el.textContent);
    const body = $("tbody", frame);
    body.replaceChildren(
      ...data.rows.map((row, i) => {
        const tr = document.createElement("tr");
        tr.append(cell("th", data.index[i], "object"), ...row.map((v, j) => cell("td", v, dtypes[j] || "")));
        return tr;
      }),
    );
    const end = data.offset + data.rows.length;
    const status = $(".page-status", frame);
    status.classList.remove("bad");
    status.textContent = data.rows.length
      ? `rows ${count(data.offset + 1)}–${count(end)} of ${count(data.total)}`
      : `no rows past ${count(data.total)}`;
    frame.dataset.offset = String(data.offset);
    $(".page-prev", frame).disabled = data.offset === 0;
    $(".page-next", frame).disabled = end >= data.total;
    $(".frame-box", frame).scrollTop = 0;
  }

  function sortAll(button) {
    const frame = button.closest(".v-frame");
    const dir = button.dataset.dir === "asc" ? "desc" : "asc";
    $$("button.sort-all", frame).forEach((b) => delete b.dataset.dir);
    button.dataset.dir = dir;
    frame.dataset.sort = button.dataset.sort || ""; // the index button: the stored order
    frame.dataset.descending = dir === "desc" ? "1" : "";
    load(frame, 0);
  }

  function unfold(button) {
    const fold = button.closest(".v-fold");
    const open = fold.classList.toggle("unfolded");
    button.dataset.label = button.dataset.label || button.textContent;
    button.textContent = open ? "show less" : button.dataset.label;
    button.setAttribute("aria-expanded", String(open));
  }

  document.addEventListener("click", (event) => {
    const target = event.target.closest("button.sort-all, .v-frame[data-rows] .pager button, button.v-unfold");
    if (!target) return;
    if (target.classList.contains("v-unfold")) return unfold(target);
    const frame = target.closest(".v-frame[data-rows]");
    if (!frame) return;
    wire(frame);
    if (target.classList.contains("sort-all")) return sortAll(target);
    const step = Number(frame.dataset.page) * (target.classList.contains("page-next") ? 1 : -1);
    load(frame, Math.max(0, Number(frame.dataset.offset) + step));
  });

  const within = (root, sel) => (root.matches(sel) ? [root] : $$(sel, root));
  function arrived(root) {
    within(root, ".v-frame[data-rows]").forEach(wire);
    within(root, "button.v-unfold").forEach((b) => (b.hidden = false));
  }
  new MutationObserver((changes) => {
    for (const change of changes) {
      for (const node of change.addedNodes) if (node instanceof Element) arrived(node);
    }
  }).observe(document.documentElement, { childList: true, subtree: true });
  document.addEventListener("DOMContentLoaded", () => arrived(document.documentElement));
})();

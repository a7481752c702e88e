/* Doctor calendar (SPEC §4): draws the Day, Week and Month grids from their data, and owns the
 * presses and the keyboard.
 *
 * Drawing: the server keeps the grid as data in the Dash store `doctor-cal-cells` ({key, view,
 * cols, rows, cells}, every word already in the page's language); the clientside callback
 * `doktuCalendar.render` draws it into #doctor-cal-grid. The same grid (same key and shape) is
 * not drawn again: only the buttons whose entry changed are updated in place, so focus, scroll and
 * the roving tab stop stay where they are. Another key (a move, another zone, another day) draws
 * the table afresh.
 *
 * Presses: a press on a cell (mouse, Enter or Space) hands {start, state, rc, key} to the store
 * `doctor-cal-press`; the server turns the time on or off and patches that one entry. A press on
 * a Month day hands the day to `doctor-cal-open`, which opens its Day view. Cells marked
 * aria-disabled (past, booked, held) do nothing.
 *
 * Keyboard: each grid is one tab stop (roving tabindex); arrow keys move between cells, Home/End to
 * the first/last cell of the row, PageUp/PageDown four rows (two hours) at a time.
 */
(function () {
  "use strict";
  var CELLS = "[data-rc]";
  var GRID = "table[data-key]";
  var CONTAINER = "doctor-cal-grid";

  function setProps(id, data) {
    var dc = window.dash_clientside;
    if (dc && typeof dc.set_props === "function") {
      dc.set_props(id, { data: data });
    }
  }

  // --- drawing -----------------------------------------------------------------------------------

  function make(tag, className, text) {
    var el = document.createElement(tag);
    if (className) {
      el.className = className;
    }
    if (text !== undefined && text !== null) {
      el.textContent = text;
    }
    return el;
  }

  function hidden(el) {
    el.setAttribute("aria-hidden", "true");
    return el;
  }

  /* A Day/Week cell's button (or a Month day's) set to its entry; `button` is reused when given. */
  function fillCell(button, entry) {
    button.className = entry.cls;
    button.setAttribute("aria-label", entry.label);
    button.textContent = "";
    if (entry.day) {  // a Month day
      button.setAttribute("data-open-day", entry.day);
      if (entry.today) {
        button.setAttribute("aria-current", "date");
      } else {
        button.removeAttribute("aria-current");
      }
      button.appendChild(make("span", "dk-cal-month-day__number", entry.number));
      if (entry.open) {
        button.appendChild(make("span", "dk-cal-count dk-cal-count--open", entry.open));
      }
      button.appendChild(make("span", "dk-cal-count dk-cal-count--booked", entry.booked));
      return button;
    }
    button.setAttribute("data-start", entry.start);
    button.setAttribute("data-state", entry.state);
    button.setAttribute("aria-disabled", entry.pressable ? "false" : "true");
    if (entry.name) {
      button.appendChild(make("span", "dk-cal-cell__name", entry.name));
    }
    if (entry.tip) {
      // Shown on hover and keyboard focus (CSS); the button's label already says it to screen readers.
      button.appendChild(hidden(make("span", "dk-cal-tip", entry.tip)));
    }
    if (entry.now) {
      var line = hidden(make("span", "dk-cal-now"));
      line.style.top = entry.now;  // CSSOM, not a style attribute: allowed by the page's CSP
      button.appendChild(line);
    }
    return button;
  }

  function cellTd(entry, row, col) {
    if (entry.gap) {
      var gap = make("td", "dk-cal-gap");
      gap.appendChild(hidden(make("span", null, "–")));
      gap.appendChild(make("span", "visually-hidden", entry.gap));
      return gap;
    }
    var td = make("td", entry.day ? null : "dk-cal-slot");
    var button = make("button");
    button.type = "button";
    button.setAttribute("data-rc", row + "," + col);
    td.appendChild(fillCell(button, entry));
    return td;
  }

  function dayHeader(col, view) {
    var th = make("th", "dk-cal-day" + (col.weekend ? " is-weekend" : "") + (col.today ? " is-today" : ""));
    th.scope = "col";
    if (col.today) {
      th.setAttribute("aria-current", "date");
    }
    if (view === "day" || !col.short) {
      th.textContent = col.label;
    } else {
      th.appendChild(document.createTextNode(col.short[0]));
      th.appendChild(document.createElement("br"));
      th.appendChild(document.createTextNode(col.short[1]));
    }
    return th;
  }

  function weekdayHeader(col) {
    var th = make("th");
    th.scope = "col";
    th.appendChild(hidden(make("span", null, col.short)));
    th.appendChild(make("span", "visually-hidden", col.label));
    return th;
  }

  function rowHeader(row, again) {
    var th = make("th", null, row.time);
    th.scope = "row";
    if (row.again) {
      th.appendChild(make("span", "dk-cal-again", again));
    }
    return th;
  }

  function buildTable(data) {
    var columns = data.cols.length;
    var table = make("table", "dk-cal dk-cal--" + data.view);
    table.id = "doctor-cal-table";
    table.setAttribute("role", "grid");
    table.setAttribute("aria-labelledby", "doctor-cal-title");
    table.setAttribute("aria-describedby", "doctor-cal-help");
    table.setAttribute("data-key", data.key);
    var head = make("tr");
    var body = make("tbody");
    if (data.view === "month") {
      data.cols.forEach(function (col) { head.appendChild(weekdayHeader(col)); });
    } else {
      var corner = make("th", "dk-cal-corner");
      corner.scope = "col";
      corner.appendChild(make("span", "visually-hidden", data.corner));
      head.appendChild(corner);
      data.cols.forEach(function (col) { head.appendChild(dayHeader(col, data.view)); });
    }
    var rows = data.cells.length / columns;
    for (var r = 0; r < rows; r++) {
      var tr = make("tr");
      if (data.rows) {
        tr.appendChild(rowHeader(data.rows[r], data.again));
      }
      for (var c = 0; c < columns; c++) {
        tr.appendChild(cellTd(data.cells[r * columns + c], r, c));
      }
      body.appendChild(tr);
    }
    var thead = make("thead");
    thead.appendChild(head);
    table.appendChild(thead);
    table.appendChild(body);
    return table;
  }

  function sameShape(a, b) {
    return a && b && a.key === b.key && a.cells.length === b.cells.length && a.cols.length === b.cols.length;
  }

  /* Only the entries that changed since the last drawing: their buttons are updated in place. */
  function update(table, before, data) {
    var columns = data.cols.length;
    for (var i = 0; i < data.cells.length; i++) {
      var entry = data.cells[i];
      if (JSON.stringify(entry) === JSON.stringify(before.cells[i])) {
        continue;
      }
      var rc = Math.floor(i / columns) + "," + (i % columns);
      var button = table.querySelector('[data-rc="' + rc + '"]');
      if (button && !entry.gap) {
        fillCell(button, entry);
      } else {
        return false;  // a gap became a time or back: draw afresh
      }
    }
    return true;
  }

  var drawn = null;  // the data last drawn

  function render(data) {
    var box = document.getElementById(CONTAINER);
    if (!box || !data || !data.cells) {
      return;
    }
    var table = box.querySelector(GRID);
    if (!(table && sameShape(drawn, data) && update(table, drawn, data))) {
      box.textContent = "";
      box.appendChild(buildTable(data));
    }
    drawn = data;
    normalise();
  }

  window.dash_clientside = window.dash_clientside || {};
  window.dash_clientside.doktuCalendar = { render: render };

  // --- keyboard and presses ----------------------------------------------------------------------

  function position(cell) {
    var rc = (cell.getAttribute("data-rc") || "").split(",");
    return [parseInt(rc[0], 10), parseInt(rc[1], 10)];
  }

  function cellAt(grid, row, col) {
    return grid.querySelector('[data-rc="' + row + "," + col + '"]');
  }

  function makeCurrent(grid, cell) {
    var cells = grid.querySelectorAll(CELLS);
    for (var i = 0; i < cells.length; i++) {
      cells[i].setAttribute("tabindex", cells[i] === cell ? "0" : "-1");
    }
  }

  /* One cell of each grid takes Tab: the one last focused, else "now", else the first open one. */
  function normalise() {
    var grids = document.querySelectorAll(GRID);
    for (var g = 0; g < grids.length; g++) {
      var grid = grids[g];
      scrollIntoPlace(grid);
      var current = grid.querySelector(CELLS + '[tabindex="0"]');
      if (current && grid.querySelectorAll(CELLS + '[tabindex="0"]').length === 1 &&
          !grid.querySelector(CELLS + ":not([tabindex])")) {
        continue;
      }
      var entry = current || grid.querySelector(CELLS + ".is-now") || grid.querySelector(CELLS + ".is-today") ||
        grid.querySelector(CELLS + '[aria-disabled="false"]') || grid.querySelector(CELLS);
      if (entry) {
        makeCurrent(grid, entry);
      }
    }
  }

  /* Once per drawn grid: scroll its box to "now" (or the first open time), not to midnight. */
  function scrollIntoPlace(grid) {
    var key = grid.getAttribute("data-key");
    var box = grid.parentElement;
    if (!box || grid.getAttribute("data-scrolled") === key) {
      return;
    }
    grid.setAttribute("data-scrolled", key);
    var target = grid.querySelector(CELLS + ".is-now") || grid.querySelector(CELLS + '[data-state="available"]') ||
      grid.querySelector(CELLS + '[aria-disabled="false"]');
    var head = grid.querySelector("thead");
    if (target && box.scrollHeight > box.clientHeight) {
      var row = target.closest("tr");
      box.scrollTop = Math.max(0, row.offsetTop - (head ? head.offsetHeight : 0) - 2 * row.offsetHeight);
    }
    // On a narrow screen the week scrolls sideways: start at today's column.
    var today = grid.querySelector("thead .is-today");
    if (today && box.scrollWidth > box.clientWidth) {
      var corner = grid.querySelector("thead th");
      var edge = corner ? corner.getBoundingClientRect().right : box.getBoundingClientRect().left;
      box.scrollLeft += today.getBoundingClientRect().left - edge;
    }
  }

  document.addEventListener("click", function (event) {
    var cell = event.target.closest ? event.target.closest(CELLS) : null;
    if (!cell) {
      return;
    }
    var grid = cell.closest(GRID);
    if (grid) {
      makeCurrent(grid, cell);
    }
    if (cell.hasAttribute("data-open-day")) {
      setProps("doctor-cal-open", { day: cell.getAttribute("data-open-day"), n: Date.now() });
      return;
    }
    if (cell.getAttribute("aria-disabled") === "true") {
      return;
    }
    setProps("doctor-cal-press", {
      start: cell.getAttribute("data-start"),
      state: cell.getAttribute("data-state"),
      rc: cell.getAttribute("data-rc"),
      key: grid ? grid.getAttribute("data-key") : null,
      n: Date.now()
    });
  });

  var MOVES = {
    ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1],
    PageUp: [-4, 0], PageDown: [4, 0]
  };

  document.addEventListener("keydown", function (event) {
    var cell = event.target.closest ? event.target.closest(CELLS) : null;
    var grid = cell ? cell.closest(GRID) : null;
    if (!grid || event.altKey || event.metaKey) {
      return;
    }
    var at = position(cell);
    var target = null;
    if (event.key === "Home" || event.key === "End") {
      var row = grid.querySelectorAll('[data-rc^="' + at[0] + ',"]');
      target = event.key === "Home" ? row[0] : row[row.length - 1];
    } else if (MOVES[event.key]) {
      var step = MOVES[event.key];
      var rows = grid.querySelectorAll("tbody tr").length;
      var cols = grid.querySelector("tbody tr").querySelectorAll("td").length;
      var r = Math.max(0, Math.min(rows - 1, at[0] + step[0]));
      var c = Math.max(0, Math.min(cols - 1, at[1] + step[1]));
      var unit = [Math.sign(step[0]), Math.sign(step[1])];
      // A time a day does not have (the clocks went forward): keep going the same way.
      while (r >= 0 && r < rows && c >= 0 && c < cols && !(target = cellAt(grid, r, c))) {
        r += unit[0];
        c += unit[1];
      }
    } else {
      return;
    }
    event.preventDefault();
    if (target) {
      makeCurrent(grid, target);
      target.focus();
    }
  });

  document.addEventListener("focusin", function (event) {
    var cell = event.target.closest ? event.target.closest(CELLS) : null;
    var grid = cell ? cell.closest(GRID) : null;
    if (grid) {
      makeCurrent(grid, cell);
    }
  });
})();

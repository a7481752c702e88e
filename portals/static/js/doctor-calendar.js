/* Doctor calendar (SPEC §4): presses and the keyboard on the Day, Week and Month grids.
 *
 * A press on a cell (mouse, Enter or Space) hands {start, state, rc, key} to the Dash store
 * `doctor-cal-press`; the server turns the time on or off and patches that one cell. A press on a
 * Month day hands the day to `doctor-cal-open`, which opens its Day view. Cells marked
 * aria-disabled (past, booked, held) do nothing.
 *
 * Keyboard: each grid is one tab stop (roving tabindex); arrow keys move between cells, Home/End to
 * the first/last cell of the row, PageUp/PageDown four rows (two hours) at a time.
 */
(function () {
  "use strict";
  var CELLS = "[data-rc]";
  var GRID = "table[data-key]";

  function setProps(id, data) {
    var dc = window.dash_clientside;
    if (dc && typeof dc.set_props === "function") {
      dc.set_props(id, { data: data });
    }
  }

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

  /* Once per rendered grid: scroll its box to "now" (or the first open time), not to midnight. */
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

  var pending = false;
  new MutationObserver(function () {
    if (!pending) {
      pending = true;
      window.requestAnimationFrame(function () {
        pending = false;
        normalise();
      });
    }
  }).observe(document.documentElement, { childList: true, subtree: true });
})();

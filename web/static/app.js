// lawcast staff pages: small enhancements on top of HTMX. Every form still posts without this file.
(function () {
  "use strict";

  // Upload: drag-and-drop and pasting a file into the file input, and the upload's progress bar.
  function setupUpload(root) {
    root.querySelectorAll("[data-dropzone]").forEach(function (zone) {
      var input = zone.querySelector("input[type=file]");
      var shown = zone.querySelector("[data-dropped]");
      function take(files) {
        if (!files || !files.length) { return false; }
        var transfer = new DataTransfer();
        transfer.items.add(files[0]);
        input.files = transfer.files;
        if (shown) { shown.textContent = files[0].name; }
        return true;
      }
      ["dragenter", "dragover"].forEach(function (name) {
        zone.addEventListener(name, function (event) { event.preventDefault(); zone.classList.add("over"); });
      });
      ["dragleave", "drop"].forEach(function (name) {
        zone.addEventListener(name, function () { zone.classList.remove("over"); });
      });
      zone.addEventListener("drop", function (event) { event.preventDefault(); take(event.dataTransfer.files); });
      input.addEventListener("change", function () { if (shown && input.files[0]) { shown.textContent = input.files[0].name; } });
      document.addEventListener("paste", function (event) {
        var data = event.clipboardData;
        if (data && data.files && data.files.length && take(data.files)) { event.preventDefault(); }
      });
    });
  }

  document.addEventListener("htmx:xhr:progress", function (event) {
    var bar = event.target.querySelector && event.target.querySelector("progress");
    if (bar && event.detail.lengthComputable) {
      var percent = Math.round(event.detail.loaded / event.detail.total * 100);
      bar.value = percent;
      bar.textContent = percent + "%";
    }
  });

  // Script editor: add, delete and reorder lines; "Nghe thử" plays one line.
  var fresh = 0;
  function setupEditor(root) {
    var list = root.querySelector("[data-lines]");
    if (!list) { return; }
    var form = list.closest("form");
    form.addEventListener("click", function (event) {
      var button = event.target.closest("button");
      if (!button) { return; }
      var row = button.closest("li.line");
      if (button.hasAttribute("data-move") && row) {
        var up = button.getAttribute("data-move") === "up";
        var other = up ? row.previousElementSibling : row.nextElementSibling;
        if (other) { list.insertBefore(row, up ? other : other.nextElementSibling); button.focus(); }
      } else if (button.hasAttribute("data-remove") && row) {
        var next = row.nextElementSibling || row.previousElementSibling;
        row.remove();
        if (next) { next.querySelector("textarea").focus(); }
      } else if (button.hasAttribute("data-say") && row) {
        say(row);
      } else if (button.hasAttribute("data-add-line")) {
        var template = document.getElementById("line-template");
        var key = "n" + Date.now().toString(36) + (fresh++);
        var holder = document.createElement("div");
        holder.innerHTML = template.innerHTML.split("__KEY__").join(key);
        var added = holder.firstElementChild;
        list.appendChild(added);
        if (window.htmx) { window.htmx.process(added); }
        added.querySelector("textarea").focus();
      }
    });
  }

  function say(row) {
    var key = row.getAttribute("data-row");
    var text = row.querySelector("textarea").value.trim();
    var audio = row.querySelector("audio[data-audio]");
    if (!text || !audio) { return; }
    var speaker = row.querySelector("select").value;
    audio.hidden = false;
    audio.src = "/app/speech/say?speaker=" + encodeURIComponent(speaker) + "&text=" + encodeURIComponent(text);
    audio.setAttribute("data-key", key);
    var playing = audio.play();
    if (playing && playing.catch) { playing.catch(function () { /* autoplay refused: the controls are visible */ }); }
  }

  function setup(root) { setupUpload(root); setupEditor(root); }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { setup(document); });
  } else {
    setup(document);
  }
})();

/* The course's decks (scripts/slides.py build): start reveal.js and fit each slide into 1280x720.

   Each slide is fitted when it is shown. A figure keeps its stored size where the slide has room, and grows
   (up to MAX_GROW) into the room the slide leaves. A slide that would run past the bottom gets, in turn:
   smaller figures (keeping at least FIGURE_SHARE of the slide's height for them), smaller type until its
   smallest text is MIN_FONT_PX, printed blocks and tables narrowed to the slide's width at the same floor
   (wrapped where even that is too wide), smaller figures again, and as a last resort a scroll bar. Sizes are
   in the deck's own pixels: at 1280x720 the deck is drawn at about 0.94 of them (reveal.js keeps a margin),
   so the floor is 14 px on the screen, above the course's smallest text: 10 pt, 13.3 px, the size
   course_lib.plotting.set_min_fontsize gives a figure's text at its stored size (tests/test_slides.py). */
(function () {
  "use strict";

  var MIN_FONT_PX = 15;
  var STEP = 0.93;
  var FIGURE_SHARE = 0.45;
  var MAX_GROW = 1.4;

  function fontSize(el) {
    return parseFloat(window.getComputedStyle(el).fontSize);
  }

  function overflow(slide) {
    return slide.scrollHeight - Reveal.getConfig().height;
  }

  function tooWide(el) {
    var box = el.parentElement;
    return el.scrollWidth > el.clientWidth + 1 || (box && box.scrollWidth > box.clientWidth + 1);
  }

  function reset(slide) {
    slide.classList.remove("course-scroll");
    slide.style.fontSize = "";
    slide.querySelectorAll("img").forEach(function (img) {
      img.style.maxHeight = "";
      img.style.width = "";
    });
    slide.querySelectorAll("pre, table").forEach(function (el) {
      el.style.fontSize = "";
      el.style.whiteSpace = "";
      el.style.overflowWrap = "";
    });
  }

  function shrinkFigures(slide, share) {
    var over = overflow(slide);
    var images = Array.prototype.slice.call(slide.querySelectorAll("img"));
    if (over <= 0 || images.length === 0) return;
    var heights = images.map(function (img) { return img.offsetHeight; });
    var total = heights.reduce(function (a, b) { return a + b; }, 0);
    if (total <= 0) return;
    var keep = Math.max(total - over, Math.min(total, share * Reveal.getConfig().height), 0);
    images.forEach(function (img, k) {
      img.style.maxHeight = Math.floor(heights[k] * keep / total) + "px";
    });
  }

  function growFigures(slide) {
    var images = Array.prototype.slice.call(slide.querySelectorAll("img"));
    var spare = -overflow(slide);
    if (spare <= 0 || images.length === 0) return;
    var total = images.reduce(function (sum, img) { return sum + img.offsetHeight; }, 0);
    if (total <= 0) return;
    var factor = Math.min(MAX_GROW, (total + spare) / total);
    images.forEach(function (img) {
      var room = img.parentElement.clientWidth;
      var width = Math.min(room, img.naturalWidth * MAX_GROW, img.offsetWidth * factor);
      if (width > img.offsetWidth) img.style.width = Math.floor(width) + "px";
    });
    if (overflow(slide) > 0) images.forEach(function (img) { img.style.width = ""; });
  }

  // the smallest type of any text on the slide (equations aside: MathJax draws them, no text)
  function smallestText(slide) {
    var smallest = Infinity;
    var walker = document.createTreeWalker(slide, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
      var el = walker.currentNode.parentElement;
      if (!walker.currentNode.textContent.trim() || el.closest("aside.notes, mjx-container")) continue;
      smallest = Math.min(smallest, fontSize(el));
    }
    return smallest;
  }

  function shrinkText(slide) {
    if (overflow(slide) <= 0) return;
    var size = fontSize(slide);
    var smallest = smallestText(slide);
    while (overflow(slide) > 0 && smallest > MIN_FONT_PX + 0.01) {
      var factor = Math.max(STEP, MIN_FONT_PX / smallest);
      size *= factor;
      slide.style.fontSize = size + "px";
      smallest = smallestText(slide);
    }
  }

  function narrowBlocks(slide) {
    slide.querySelectorAll("pre, table").forEach(function (el) {
      var size = fontSize(el);
      while (tooWide(el) && size > MIN_FONT_PX) {
        size = Math.max(MIN_FONT_PX, size * STEP);
        el.style.fontSize = size + "px";
      }
      if (tooWide(el) && el.tagName === "PRE") {
        el.style.whiteSpace = "pre-wrap";
        el.style.overflowWrap = "anywhere";
      }
    });
  }

  function fit(slide) {
    if (!slide) return;
    reset(slide);
    shrinkFigures(slide, FIGURE_SHARE);
    shrinkText(slide);
    narrowBlocks(slide);
    shrinkText(slide);
    if (overflow(slide) > 0) shrinkFigures(slide, 0);
    if (overflow(slide) > 0) slide.classList.add("course-scroll");
    else growFigures(slide);
  }

  function loaded() {
    return new Promise(function (resolve) {
      if (document.readyState === "complete") resolve();
      else window.addEventListener("load", function () { resolve(); });
    });
  }

  function start(options) {
    var api = window.CourseSlides;
    Reveal.on("ready", function (event) { fit(event.currentSlide); });
    Reveal.on("slidechanged", function (event) { fit(event.currentSlide); });
    var revealReady = Reveal.initialize({
      width: options.width,
      height: options.height,
      margin: 0.04,
      center: false,
      hash: true,
      controls: true,
      progress: true,
      slideNumber: options.slideNumber || false,
      transition: options.transition || "slide",
      plugins: [RevealNotes]
    });
    // equations change heights: fit the slide on show again once MathJax is done and the images are decoded
    api.ready = Promise.all([revealReady, window.courseMath || Promise.resolve(), loaded()]).then(function () {
      fit(Reveal.getCurrentSlide());
    });
  }

  // ready: settles once the first slide is fitted with its equations typeset and its images decoded
  window.CourseSlides = {start: start, fit: fit, MIN_FONT_PX: MIN_FONT_PX, ready: null};
})();

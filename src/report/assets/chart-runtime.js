(function () {
  var errorBars = {
    id: 'isobenchErrorBars',
    afterDatasetsDraw: function (chart) {
      var ctx = chart.ctx;
      var horizontal = chart.options.indexAxis === 'y';
      chart.data.datasets.forEach(function (ds, di) {
        var bars = ds.errorBars;
        if (!bars || !chart.isDatasetVisible(di)) return;
        var meta = chart.getDatasetMeta(di);
        var scale = horizontal ? chart.scales[meta.xAxisID] : chart.scales[meta.yAxisID];
        ctx.save();
        ctx.strokeStyle = '#0f172a';
        ctx.lineWidth = 1.5;
        meta.data.forEach(function (el, i) {
          var b = bars[i];
          if (!b || b.lo === null || b.hi === null || isNaN(b.lo) || isNaN(b.hi)) return;
          if (chart.data.datasets[di].data[i] === null) return;
          // Clip whisker ends to the axis (an end <= 0 on a log axis is below it): drawn as an arrow, not a cap.
          var lo = b.lo, hi = b.hi, loClip = false, hiClip = false;
          var smin = scale.min, smax = scale.max;
          if (lo < smin || (scale.type === 'logarithmic' && lo <= 0)) { lo = smin; loClip = true; }
          if (hi > smax) { hi = smax; hiClip = true; }
          if (hi < smin || lo > smax) return;
          var p1 = scale.getPixelForValue(lo);
          var p2 = scale.getPixelForValue(hi);
          var thick = horizontal ? (el.height || 10) : (el.width || 10);
          var cap = Math.max(3, Math.min(8, thick / 4));
          var c = horizontal ? el.y : el.x;
          function end(p, clip, dir) {
            // dir: +1 when the whisker continues towards larger pixels.
            if (!clip) {
              if (horizontal) { ctx.moveTo(p, c - cap); ctx.lineTo(p, c + cap); }
              else { ctx.moveTo(c - cap, p); ctx.lineTo(c + cap, p); }
              return;
            }
            var a = cap + 1;
            if (horizontal) { ctx.moveTo(p - dir * a, c - a); ctx.lineTo(p, c); ctx.lineTo(p - dir * a, c + a); }
            else { ctx.moveTo(c - a, p - dir * a); ctx.lineTo(c, p); ctx.lineTo(c + a, p - dir * a); }
          }
          ctx.beginPath();
          if (horizontal) { ctx.moveTo(p1, c); ctx.lineTo(p2, c); }
          else { ctx.moveTo(c, p1); ctx.lineTo(c, p2); }
          end(p1, loClip, p1 < p2 ? -1 : 1);
          end(p2, hiClip, p2 < p1 ? -1 : 1);
          ctx.stroke();
        });
        ctx.restore();
      });
    }
  };
  // Text next to points and above bars (dataset.isobenchLabels); labels that would collide move up.
  var labels = {
    id: 'isobenchLabels',
    afterDatasetsDraw: function (chart) {
      var ctx = chart.ctx;
      var boxes = [];
      var area = chart.chartArea;
      chart.data.datasets.forEach(function (ds, di) {
        var texts = ds.isobenchLabels;
        if (!texts || !chart.isDatasetVisible(di)) return;
        var meta = chart.getDatasetMeta(di);
        var bar = meta.type === 'bar';
        ctx.save();
        ctx.font = 'bold 12px system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif';
        ctx.fillStyle = ds.isobenchLabelColour || '#0f172a';
        ctx.textBaseline = 'bottom';
        meta.data.forEach(function (el, i) {
          var t = texts[i];
          if (!t || el.skip) return;
          var w = ctx.measureText(t).width;
          var x = el.x;
          var y = bar ? el.y - 3 : el.y - 12;
          var left = x - w / 2;
          if (!bar) {
            left = x + w / 2 + 8 > area.right ? x - w - 8 : x - w / 2;
          }
          if (left < area.left) left = area.left + 2;
          var tries = 0;
          while (tries < 12 && boxes.some(function (b) { return left < b.r && left + w > b.l && y - 14 < b.b && y > b.t; })) { y -= 15; tries++; }
          if (y - 14 < area.top) y = Math.max(y, area.top + 14);
          boxes.push({ l: left, r: left + w, t: y - 14, b: y });
          ctx.textAlign = 'left';
          ctx.fillText(t, left, y);
        });
        ctx.restore();
      });
    }
  };
  function fmt(v) {
    var a = Math.abs(v);
    if (a >= 1000) return Math.round(v).toLocaleString('en-US');
    if (a >= 10) return String(Math.round(v * 10) / 10);
    if (a >= 1) return String(Math.round(v * 100) / 100);
    return String(Number(v.toPrecision(2)));
  }
  // Log-axis labels: 1-2-5 per decade up to 3 decades, 1-3 up to 5, powers of ten beyond (labels never collide).
  function isMajor(v, scale) {
    if (!(v > 0)) return false;
    var lead = Math.round(v / Math.pow(10, Math.floor(Math.log10(v) + 1e-9)) * 1000) / 1000;
    var decades = scale && scale.max > 0 && scale.min > 0 ? Math.log10(scale.max / scale.min) : 0;
    if (decades > 5) return lead === 1;
    if (decades > 3) return lead === 1 || lead === 3;
    return lead === 1 || lead === 2 || lead === 5;
  }
  function tickFormatter(log, suffix) {
    return function (value) {
      var v = Number(value);
      if (log && !isMajor(v, this)) return '';
      return fmt(v) + suffix;
    };
  }
  function prepare(cfg) {
    cfg.plugins = (cfg.plugins || []).concat([errorBars, labels]);
    (cfg.data && cfg.data.datasets || []).forEach(function (ds) {
      if (!ds.isobenchDashLast) return;
      var last = ds.data.length - 1;
      ds.segment = { borderDash: function (c) { return c.p1DataIndex === last ? [3, 4] : undefined; } };
    });
    var axes = cfg.options.isobenchAxes || {};
    Object.keys(axes).forEach(function (id) {
      var a = axes[id];
      var sc = cfg.options.scales[id];
      sc.ticks = sc.ticks || {};
      sc.ticks.callback = tickFormatter(a.log, a.suffix || '');
      if (a.log) {
        sc.ticks.autoSkip = false;
        sc.ticks.maxRotation = 0;
        sc.grid = sc.grid || {};
        sc.grid.color = function (c) { return c.tick && isMajor(c.tick.value, c.scale) ? (c.tick.value === 1 && a.suffix === '×' ? '#94a3b8' : '#e2e8f0') : 'rgba(0,0,0,0)'; };
      }
    });
    cfg.options.plugins.tooltip = {
      callbacks: {
        label: function (item) {
          var ds = item.dataset;
          if (ds.isobenchText && ds.isobenchText[item.dataIndex]) return ds.label + ': ' + ds.isobenchText[item.dataIndex];
          if (item.raw && typeof item.raw === 'object' && 'x' in item.raw) return ds.label + ': ' + fmt(item.raw.x) + ' (' + Math.round(item.raw.y * 100) + '% of repetitions at or below)';
          return ds.label + ': ' + item.formattedValue;
        }
      }
    };
    return cfg;
  }
  return { errorBars: errorBars, labels: labels, prepare: prepare };
})()

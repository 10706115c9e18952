/* Gameday report pages, in the browser: draws the charts the page's embedded data describes with
 * uPlot (inlined before this script), keeps every chart of a page on one synchronised clock
 * (cursor and zoom), paints fault windows, tolerances and event markers, the event lanes and what
 * was going on at the hovered second, and wires the copy buttons. Plain ES2020, no build step. */
/* global document, window, uPlot */
;(function () {
  'use strict'

  // copy buttons work on every page, charts or not
  document.querySelectorAll('button[data-copy]').forEach(function (button) {
    button.addEventListener('click', function () {
      var source = document.getElementById(button.getAttribute('data-copy'))
      var text = source ? source.value || source.textContent : ''
      var done = function () {
        button.textContent = 'Copied'
        window.setTimeout(function () {
          button.textContent = 'Copy as Markdown'
        }, 1500)
      }
      if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(text).then(done, fallback)
      else fallback()
      function fallback() {
        var area = document.createElement('textarea')
        area.value = text
        document.body.appendChild(area)
        area.select()
        document.execCommand('copy')
        area.remove()
        done()
      }
    })
  })

  // a wide counterexample opens scrolled to the operation that cannot be linearized
  document.querySelectorAll('.cx-scroll').forEach(function (box) {
    var blocked = box.querySelector('.cx-blocked rect')
    if (!blocked) return
    var right = Number(blocked.getAttribute('x')) + Number(blocked.getAttribute('width'))
    box.scrollLeft = Math.max(0, right + 60 - box.clientWidth)
  })

  var holder = document.getElementById('gameday-data')
  if (!holder || typeof uPlot === 'undefined') return
  var data = JSON.parse(holder.textContent)
  var pxr = uPlot.pxRatio || 1
  var AXIS = 170
  var COLORS = {
    successRate: '#0969da',
    p50: '#1b7c83',
    p99: '#8250df',
    requests: '#8c959f',
    ok: '#1a7f37',
    errors: '#cf222e',
    healthyNodes: '#0969da',
    healthy: '#1a7f37',
    routesFull: '#bc4c00',
    score: '#0969da',
    confidence: '#8c959f',
  }
  var PALETTE = ['#0969da', '#bc4c00', '#8250df', '#1b7c83', '#cf222e', '#6e7781']
  var TONE = { fault: 'rgba(207,34,46,0.18)', bad: '#cf222e', warn: '#d4a72c', ok: '#1a7f37', info: 'rgba(9,105,218,0.16)' }
  var TONE_TEXT = { fault: '#82071e', bad: '#fff', warn: '#3b2300', ok: '#fff', info: '#0a3069' }
  var UNIT_LABEL = { ratio: 'success', ms: 'latency', 'per-second': 'per second', count: 'count', state: '1 = yes', score: 'score / 100' }
  var FONT = 11 * pxr + 'px -apple-system, "Segoe UI", Helvetica, Arial, sans-serif'

  function fmt(unit, v) {
    if (v == null || Number.isNaN(v)) return '—'
    switch (unit) {
      case 'ratio':
        return (v * 100).toFixed(v === 1 || v === 0 ? 0 : v >= 0.999 ? 3 : 2) + '%'
      case 'ms':
        if (v === 0) return '0ms'
        return v >= 1000 ? (v / 1000).toFixed(2) + 's' : v >= 10 ? v.toFixed(0) + 'ms' : v.toFixed(2) + 'ms'
      case 'per-second':
        return Math.round(v) + '/s'
      case 'state':
        return v >= 0.5 ? 'yes' : 'no'
      case 'score':
        return String(Math.round(v))
      default:
        return Number.isInteger(v) ? String(v) : v.toFixed(2)
    }
  }

  /** seconds on the run clock (or relative to a fault, with a sign) */
  function fmtT(s, relative) {
    if (s == null) return '—'
    var neg = s < 0
    var a = Math.abs(s)
    var text = a < 60 ? (Number.isInteger(a) ? a : a.toFixed(1)) + 's' : Math.floor(a / 60) + 'm' + String(Math.round(a % 60)).padStart(2, '0') + 's'
    return (neg ? '−' : relative ? '+' : '') + text
  }
  function fmtDate(s) {
    if (s == null) return '—'
    return new Date(s * 1000).toISOString().slice(0, 16).replace('T', ' ')
  }

  var charts = []
  var syncing = false
  function syncScale(u, key) {
    if (key !== 'x' || syncing || u.__group !== 'clock') return
    syncing = true
    charts.forEach(function (o) {
      if (o !== u && o.__group === 'clock' && (o.scales.x.min !== u.scales.x.min || o.scales.x.max !== u.scales.x.max)) {
        o.setScale('x', { min: u.scales.x.min, max: u.scales.x.max })
      }
    })
    syncing = false
  }

  function clip(u, draw) {
    var ctx = u.ctx
    ctx.save()
    ctx.beginPath()
    ctx.rect(u.bbox.left, u.bbox.top, u.bbox.width, u.bbox.height)
    ctx.clip()
    draw(ctx)
    ctx.restore()
  }

  function drawWindows(u) {
    clip(u, function (ctx) {
      ;(data.windows || []).forEach(function (w) {
        var x0 = u.valToPos(w.from, 'x', true)
        var x1 = u.valToPos(w.to, 'x', true)
        ctx.fillStyle = TONE.fault
        ctx.fillRect(x0, u.bbox.top, Math.max(x1 - x0, 2 * pxr), u.bbox.height)
      })
    })
  }

  function drawMarkers(u) {
    var marks = data.markers || []
    // the lanes name their own events; the series charts get the names of a few
    var named = marks.length <= 4 && u.root.id !== 'lanes-chart'
    clip(u, function (ctx) {
      marks.forEach(function (m) {
        var x = Math.round(u.valToPos(m.t, 'x', true))
        ctx.strokeStyle = m.tone === 'bad' ? TONE.bad : m.tone === 'ok' ? TONE.ok : '#9a6700'
        ctx.lineWidth = 1.25 * pxr
        ctx.setLineDash([3 * pxr, 3 * pxr])
        ctx.beginPath()
        ctx.moveTo(x, u.bbox.top)
        ctx.lineTo(x, u.bbox.top + u.bbox.height)
        ctx.stroke()
        if (named) {
          ctx.setLineDash([])
          ctx.font = FONT
          ctx.fillStyle = ctx.strokeStyle
          ctx.textBaseline = 'top'
          ctx.fillText(m.label.slice(0, 40), x + 4 * pxr, u.bbox.top + 3 * pxr)
        }
      })
    })
  }

  function drawTolerances(spec) {
    return function (u) {
      var ctx = u.ctx
      ;(spec.tolerances || []).forEach(function (t) {
        var y = Math.round(u.valToPos(t.value, 'y', true))
        ctx.save()
        ctx.font = FONT
        ctx.textAlign = 'right'
        ctx.fillStyle = '#9a6700'
        var right = u.bbox.left + u.bbox.width - 4 * pxr
        if (y < u.bbox.top) {
          ctx.textBaseline = 'top'
          ctx.fillText('↑ ' + t.label + ': above the scale', right, u.bbox.top + 3 * pxr)
        } else if (y > u.bbox.top + u.bbox.height) {
          ctx.textBaseline = 'bottom'
          ctx.fillText('↓ ' + t.label + ': below the scale', right, u.bbox.top + u.bbox.height - 3 * pxr)
        } else {
          ctx.strokeStyle = '#bf8700'
          ctx.lineWidth = 1.5 * pxr
          ctx.setLineDash([6 * pxr, 4 * pxr])
          ctx.beginPath()
          ctx.moveTo(u.bbox.left, y)
          ctx.lineTo(u.bbox.left + u.bbox.width, y)
          ctx.stroke()
          ctx.textBaseline = t.holds === 'above' ? 'top' : 'bottom'
          ctx.fillText('tolerance ' + t.label, right, y + (t.holds === 'above' ? 3 : -3) * pxr)
        }
        ctx.restore()
      })
    }
  }

  function yRange(spec) {
    return function (u, min, max) {
      if (spec.unit === 'state') return [-0.05, 1.15]
      if (spec.unit === 'score') return [0, 105]
      if (min == null || max == null) return [0, 1]
      var tols = (spec.tolerances || []).map(function (t) {
        return t.value
      })
      if (spec.unit === 'ratio') {
        var lo = Math.min.apply(null, [min].concat(tols))
        return [Math.max(0, lo - (1 - lo) * 0.2 - 0.005), 1 + Math.max(0.0005, (1 - lo) * 0.04)]
      }
      var hi = max
      tols.forEach(function (t) {
        if (t <= Math.max(max, 1) * 3) hi = Math.max(hi, t)
      })
      return [Math.min(0, min), hi * 1.12 || 1]
    }
  }

  function width(el) {
    return Math.max(320, el.clientWidth)
  }

  function xAxis(spec) {
    return {
      stroke: '#59636e',
      grid: { stroke: '#eef1f4', width: 1 },
      ticks: { stroke: '#d1d9e0', width: 1 },
      values: function (u, ticks) {
        return ticks.map(function (v) {
          return spec.xTime ? fmtDate(v) : fmtT(v, data.relative)
        })
      },
    }
  }

  function seriesChart(spec, el) {
    var time = !!spec.xTime
    var domain = data.domain
    // the domain's ends are part of every chart's data, so a double-click resets to the whole run
    var x = time || !domain ? spec.x : [domain.min].concat(spec.x, [domain.max])
    var pad = function (values) {
      return time || !domain ? values : [null].concat(values, [null])
    }
    var series = [
      {
        label: spec.xLabel || (data.relative ? 't (from the fault)' : 't'),
        value: function (u, v) {
          return time ? fmtDate(v) : fmtT(v, data.relative)
        },
      },
    ].concat(
      spec.lines.map(function (l, i) {
        return {
          label: l.label,
          stroke: l.color || COLORS[l.key] || PALETTE[i % PALETTE.length],
          width: 1.75,
          dash: l.dash,
          spanGaps: !!spec.spanGaps,
          paths: spec.step ? uPlot.paths.stepped({ align: 1 }) : undefined,
          points: { show: spec.x.length <= 60, size: 5 },
          value: function (u, v) {
            return fmt(spec.unit, v)
          },
        }
      }),
    )
    var opts = {
      title: spec.title,
      width: width(el),
      height: spec.height || 190,
      cursor: { sync: { key: spec.group || 'clock' }, drag: { x: true, y: false }, points: { size: 7 } },
      scales: { x: { time: time }, y: { range: yRange(spec) } },
      axes: [
        xAxis(spec),
        {
          size: AXIS,
          stroke: '#59636e',
          grid: { stroke: '#eef1f4', width: 1 },
          ticks: { stroke: '#d1d9e0', width: 1 },
          label: UNIT_LABEL[spec.unit] || '',
          labelSize: 16,
          labelFont: FONT,
          // a ratio's scale runs a little past 100% so the line stays visible; no tick is written there
          filter: function (u, splits) {
            return splits.map(function (v) {
              return spec.unit === 'ratio' && v > 1 ? null : v
            })
          },
          splits:
            spec.unit === 'state'
              ? function () {
                  return [0, 1]
                }
              : undefined,
          values: function (u, ticks) {
            return ticks.map(function (v) {
              return fmt(spec.unit, v)
            })
          },
        },
      ],
      series: series,
      hooks: {
        drawClear: spec.xTime ? [] : [drawWindows],
        draw: [drawTolerances(spec)].concat(spec.xTime ? [] : [drawMarkers]),
        setScale: [syncScale],
      },
    }
    var u = new uPlot(
      opts,
      [x].concat(
        spec.lines.map(function (l) {
          return pad(l.values)
        }),
      ),
      el,
    )
    u.__group = spec.group || 'clock'
    return u
  }

  function lanesChart(lanes, el) {
    var n = lanes.length
    var rowH = 26
    var readout = document.getElementById('lanes-readout')
    function laneIndexAt(v) {
      return n - 1 - Math.floor(v)
    }
    function drawLanes(u) {
      clip(u, function (ctx) {
        ctx.font = FONT
        ctx.textBaseline = 'middle'
        lanes.forEach(function (lane, i) {
          var cy = u.valToPos(n - i - 0.5, 'y', true)
          var h = rowH * 0.62 * pxr
          if (i % 2 === 1) {
            ctx.fillStyle = 'rgba(246,248,250,0.7)'
            ctx.fillRect(u.bbox.left, cy - (rowH / 2) * pxr, u.bbox.width, rowH * pxr)
          }
          lane.spans.forEach(function (s) {
            var x0 = u.valToPos(s.from, 'x', true)
            var w = Math.max(3 * pxr, u.valToPos(s.to, 'x', true) - x0)
            ctx.fillStyle = TONE[s.tone] || TONE.info
            ctx.beginPath()
            ctx.rect(x0, cy - h / 2, w, h)
            ctx.fill()
            if (s.tone === 'fault') {
              ctx.strokeStyle = TONE.bad
              ctx.lineWidth = pxr
              ctx.stroke()
            }
            var label = s.label
            if (ctx.measureText(label).width + 8 * pxr < w) {
              ctx.fillStyle = TONE_TEXT[s.tone] || '#1f2328'
              ctx.textAlign = 'left'
              ctx.fillText(label, x0 + 4 * pxr, cy)
            }
          })
          var labelEnd = -Infinity
          lane.marks.forEach(function (m) {
            var x = u.valToPos(m.t, 'x', true)
            var r = 5 * pxr
            ctx.fillStyle = m.tone === 'ok' ? TONE.ok : m.tone === 'bad' ? TONE.bad : m.tone === 'warn' ? '#bf8700' : '#0969da'
            ctx.strokeStyle = '#fff'
            ctx.lineWidth = 1.5 * pxr
            ctx.beginPath()
            ctx.moveTo(x, cy - r)
            ctx.lineTo(x + r, cy)
            ctx.lineTo(x, cy + r)
            ctx.lineTo(x - r, cy)
            ctx.closePath()
            ctx.fill()
            ctx.stroke()
            if (x - r > labelEnd && lane.spans.length === 0) {
              ctx.fillStyle = '#1f2328'
              ctx.textAlign = 'left'
              ctx.fillText(m.label, x + r + 3 * pxr, cy)
              labelEnd = x + r + 6 * pxr + ctx.measureText(m.label).width
            }
          })
        })
      })
    }
    function showAt(u) {
      if (!readout) return
      var left = u.cursor.left
      if (left == null || left < 0) return
      var v = u.posToVal(left, 'x')
      var slack = (8 / Math.max(1, u.bbox.width / pxr)) * (u.scales.x.max - u.scales.x.min)
      var parts = []
      lanes.forEach(function (lane) {
        var here = lane.spans
          .filter(function (s) {
            return s.from - slack <= v && v <= s.to + slack
          })
          .map(function (s) {
            return s.label + (s.detail ? ' (' + s.detail + ')' : '')
          })
          .concat(
            lane.marks
              .filter(function (m) {
                return Math.abs(m.t - v) <= slack * 1.5
              })
              .map(function (m) {
                return '◆ ' + m.label
              }),
          )
        if (here.length) parts.push('<b>' + escapeHtml(lane.title) + '</b>: ' + escapeHtml(here.join('; ')))
      })
      readout.innerHTML = '<b>' + fmtT(Math.round(v * 10) / 10) + '</b> · ' + (parts.length ? parts.join(' · ') : 'nothing under way')
    }
    var opts = {
      id: 'lanes-chart',
      title: 'Events',
      width: width(el),
      height: n * rowH + 56,
      legend: { show: false },
      cursor: { sync: { key: 'clock' }, drag: { x: true, y: false }, y: false, points: { show: false } },
      scales: { x: { time: false }, y: { range: [0, n] } },
      axes: [
        xAxis({}),
        {
          size: AXIS,
          stroke: '#1f2328',
          font: FONT,
          label: ' ',
          labelSize: 16,
          grid: { show: false },
          ticks: { show: false },
          splits: function () {
            return lanes.map(function (_, i) {
              return n - i - 0.5
            })
          },
          values: function (u, splits) {
            return splits.map(function (s) {
              var lane = lanes[laneIndexAt(s)]
              var t = lane ? lane.title : ''
              return t.length > 26 ? t.slice(0, 25) + '…' : t
            })
          },
        },
      ],
      series: [{}, { stroke: 'transparent', points: { show: false } }],
      hooks: { drawClear: [drawWindows], draw: [drawLanes, drawMarkers], setScale: [syncScale], setCursor: [showAt] },
    }
    var u = new uPlot(opts, [[data.domain.min, data.domain.max], [null, null]], el)
    u.__group = 'clock'
    return u
  }

  function escapeHtml(s) {
    return String(s).replace(/[&<>"]/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c]
    })
  }

  var lanesEl = document.getElementById('lanes')
  if (lanesEl && data.lanes && data.lanes.length) charts.push(lanesChart(data.lanes, lanesEl))
  ;(data.charts || []).forEach(function (spec) {
    var el = document.querySelector('[data-chart="' + spec.id + '"]')
    if (el) charts.push(seriesChart(spec, el))
  })

  var resizeTimer
  window.addEventListener('resize', function () {
    window.clearTimeout(resizeTimer)
    resizeTimer = window.setTimeout(function () {
      charts.forEach(function (u) {
        u.setSize({ width: width(u.root.parentElement), height: u.height })
      })
    }, 100)
  })
  // for whoever scripts the page (the browser tests): the uPlot instances, lanes first
  window.gameday = { charts: charts, drawnMs: window.performance.now() }
  // and when the browser has painted them
  window.requestAnimationFrame(function () {
    window.requestAnimationFrame(function () {
      window.gameday.paintedMs = window.performance.now()
    })
  })
  document.documentElement.setAttribute('data-charts', String(charts.length))
})()

//! `lde trace timeline` (and `lde run --timeline`): an SVG picture of a run.
//!
//! One lane per process with its runs on the CPU as bars and marks for its
//! system calls, traps and kill; a row of timer ticks; a lane of VMM exits
//! by reason; a time axis and a legend. Under MLFQ a run is coloured by the
//! level the process was at (from the trace's `level` and `boost` events:
//! a process starts at the top, level 0) and each boost is a dashed line
//! across the process lanes. The file is read once: runs are kept
//! per process (merged when drawn, so a bar is at least a pixel wide) and
//! marks are counted in time buckets that widen as the run gets longer, so
//! memory and the picture stay bounded for runs of millions of events.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead, Write as _};
use std::path::Path;

use anyhow::{Context, Result};

use super::names::ProcessNames;
use super::reader::{check_output, TraceReader};
use super::record::{Footer, GuestEvent, Header, Policy, Record};
use super::runs::RunTracker;
use super::units::{duration, ms};
use crate::error::bad_input;

/// Draw the trace at `trace` as an SVG into `svg`.
pub fn draw_file(trace: &Path, svg: &Path) -> Result<()> {
    check_output(trace, svg)?;
    let timeline = Timeline::read(TraceReader::open(trace)?)?;
    if !timeline.complete {
        crate::error::to_stderr(&format!(
            "lde: warning: {}: no footer: the trace is incomplete\n",
            trace.display()
        ));
    }
    // Not being able to create the file is the user's path (bad input);
    // failing to write it once created is an I/O error (a full disk).
    let mut file = std::fs::File::create(svg)
        .map_err(|e| bad_input(format!("cannot write '{}': {e}", svg.display())))?;
    file.write_all(timeline.svg().as_bytes())
        .with_context(|| format!("writing '{}'", svg.display()))
}

/// Most buckets a series of marks keeps before its buckets double in width.
/// More than the plot is wide, so a bucket is never wider than a pixel.
const MAX_BUCKETS: usize = 2048;

/// Times of one kind of mark, counted in buckets of `2^shift` ns.
#[derive(Debug, Default, Clone)]
pub struct Marks {
    shift: u32,
    buckets: BTreeMap<u64, u64>,
    pub total: u64,
}

impl Marks {
    /// Count a mark at `t_ns`.
    pub fn add(&mut self, t_ns: u64) {
        *self.buckets.entry(t_ns >> self.shift).or_default() += 1;
        self.total += 1;
        while self.buckets.len() > MAX_BUCKETS {
            self.shift += 1;
            for (bucket, n) in std::mem::take(&mut self.buckets) {
                *self.buckets.entry(bucket >> 1).or_default() += n;
            }
        }
    }

    /// The marks per pixel column, for columns `ns_per_px` wide: (column,
    /// count), in time order.
    pub fn columns(&self, ns_per_px: f64) -> Vec<(u32, u64)> {
        let mut out: Vec<(u32, u64)> = Vec::new();
        let half = (1u64 << self.shift) / 2;
        for (&bucket, &n) in &self.buckets {
            let mid = (bucket << self.shift) + half;
            let col = (mid as f64 / ns_per_px) as u32;
            match out.last_mut() {
                Some(last) if last.0 == col => last.1 += n,
                _ => out.push((col, n)),
            }
        }
        out
    }
}

/// One process: its runs on the CPU and its marks.
#[derive(Debug, Default, Clone)]
pub struct Lane {
    pub pid: u32,
    pub name: String,
    /// (start, end) in ns, in the order the switches happened.
    pub runs: Vec<(u64, u64)>,
    pub syscalls: Marks,
    pub traps: Marks,
    pub kills: Marks,
    /// Why it was killed (the last kill seen).
    pub killed: Option<String>,
    /// MLFQ: its level changes, (time in ns, new level), in time order;
    /// before the first it is at the top (0).
    pub levels: Vec<(u64, u64)>,
}

impl Lane {
    /// The level at `t_ns`.
    fn level_at(&self, t_ns: u64) -> u64 {
        let i = self.levels.partition_point(|&(t, _)| t <= t_ns);
        i.checked_sub(1).map_or(0, |i| self.levels[i].1)
    }

    /// Its runs cut where its level changed, by level.
    pub fn runs_by_level(&self) -> BTreeMap<u64, Vec<(u64, u64)>> {
        let mut out: BTreeMap<u64, Vec<(u64, u64)>> = BTreeMap::new();
        for &(start, end) in &self.runs {
            let mut from = start;
            let changes = self
                .levels
                .iter()
                .filter(|&&(t, _)| t > start && t < end)
                .map(|&(t, _)| t);
            for cut in changes.chain(std::iter::once(end)) {
                if cut > from {
                    out.entry(self.level_at(from))
                        .or_default()
                        .push((from, cut));
                }
                from = cut;
            }
            if start == end {
                out.entry(self.level_at(start))
                    .or_default()
                    .push((start, end));
            }
        }
        out
    }
}

/// What the picture is drawn from.
#[derive(Debug)]
pub struct Timeline {
    pub header: Header,
    pub footer: Option<Footer>,
    pub complete: bool,
    /// Process lanes by pid (pid 0, the kernel and idle, has none).
    pub lanes: BTreeMap<u32, Lane>,
    pub ticks: Marks,
    pub exits: BTreeMap<String, Marks>,
    /// The latest time in the trace.
    pub end_ns: u64,
    /// The run was scheduled by MLFQ: runs are coloured by level.
    pub mlfq: bool,
    /// MLFQ: the deepest level any process reached.
    pub max_level: u64,
    /// MLFQ: priority boosts.
    pub boosts: Marks,
}

impl Timeline {
    pub fn read<R: BufRead>(mut reader: TraceReader<R>) -> Result<Timeline> {
        let header = reader.header().clone();
        let mut names = ProcessNames::new(&header);
        let mlfq = header.sched == Policy::Mlfq;
        let mut t = Timeline {
            lanes: header
                .programs
                .iter()
                .map(|p| (p.pid, Lane::default()))
                .collect(),
            header,
            footer: None,
            complete: false,
            ticks: Marks::default(),
            exits: BTreeMap::new(),
            end_ns: 0,
            mlfq,
            max_level: 0,
            boosts: Marks::default(),
        };
        t.lanes.remove(&0);
        let mut tracker = RunTracker::default();
        while let Some(record) = reader.next_record()? {
            names.observe(&record);
            match record {
                Record::Debugger(d) => t.end_ns = t.end_ns.max(d.t_ns),
                Record::Exit(e) => {
                    t.end_ns = t.end_ns.max(e.t_ns);
                    t.exits
                        .entry(e.exit.reason().to_string())
                        .or_default()
                        .add(e.t_ns);
                }
                Record::Event(e) => {
                    t.end_ns = t.end_ns.max(e.t_ns);
                    if let Some(run) = tracker.observe(e.t_ns, &e.event) {
                        if let Some(lane) = t.lane(run.pid) {
                            lane.runs.push((run.start_ns, run.end_ns));
                        }
                    }
                    if let GuestEvent::Switch { to, .. } = e.event {
                        t.lane(to);
                    }
                    match &e.event {
                        GuestEvent::Tick { .. } => t.ticks.add(e.t_ns),
                        GuestEvent::Boost { .. } => {
                            t.mlfq = true;
                            t.boosts.add(e.t_ns);
                            for lane in t.lanes.values_mut() {
                                if lane.levels.last().is_some_and(|l| l.1 != 0) {
                                    lane.levels.push((e.t_ns, 0));
                                }
                            }
                        }
                        GuestEvent::Level { to, .. } => {
                            t.mlfq = true;
                            t.max_level = t.max_level.max(*to);
                            if let Some(lane) = t.lane(e.pid) {
                                lane.levels.push((e.t_ns, *to));
                            }
                        }
                        event => {
                            if let Some(lane) = t.lane(e.pid) {
                                match event {
                                    GuestEvent::Syscall { .. } => lane.syscalls.add(e.t_ns),
                                    GuestEvent::Trap { .. } => lane.traps.add(e.t_ns),
                                    GuestEvent::ProcKill {
                                        reason,
                                        vector_name,
                                        ..
                                    } => {
                                        lane.kills.add(e.t_ns);
                                        lane.killed = Some(
                                            GuestEvent::kill_cause(*reason, vector_name)
                                                .to_string(),
                                        );
                                    }
                                    _ => {}
                                }
                            }
                        }
                    }
                }
                Record::Registers(r) => t.end_ns = t.end_ns.max(r.t_ns),
                Record::Process(p) => {
                    t.lane(p.pid);
                }
                Record::Footer(f) => t.footer = Some(f),
                Record::Header(_) => {}
            }
        }
        if let Some(run) = tracker.finish(t.end_ns) {
            if let Some(lane) = t.lane(run.pid) {
                lane.runs.push((run.start_ns, run.end_ns));
            }
        }
        t.complete = reader.complete();
        for (pid, lane) in &mut t.lanes {
            lane.pid = *pid;
            lane.name = names.get(*pid).unwrap_or("").to_string();
        }
        Ok(t)
    }

    /// The lane of a process, made on first sight; none for pid 0.
    fn lane(&mut self, pid: u32) -> Option<&mut Lane> {
        (pid != 0).then(|| self.lanes.entry(pid).or_default())
    }

    /// The picture.
    pub fn svg(&self) -> String {
        Drawing::new(self).finish()
    }
}

const WIDTH: f64 = 1200.0;
const LEFT: f64 = 150.0;
const PLOT_W: f64 = 1020.0;
const LANE_H: f64 = 28.0;
const EXIT_ROW_H: f64 = 7.0;

const PROCESS_COLOURS: &[&str] = &[
    "#8fb8de", "#f4b183", "#a9d18e", "#ffd966", "#c9a0dc", "#9dd9d2", "#f8a5a5", "#c5b9a8",
    "#b4c7e7", "#d6dce4",
];
const SYSCALL_COLOUR: &str = "#1f3a93";
const TRAP_COLOUR: &str = "#e67e22";
const KILL_COLOUR: &str = "#c0392b";
const TICK_COLOUR: &str = "#7f8c8d";
const BOOST_COLOUR: &str = "#8e44ad";
/// MLFQ levels, top (0) first: dark to light, so priority reads as weight.
const LEVEL_COLOURS: &[&str] = &[
    "#08519c", "#3182bd", "#6baed6", "#9ecae1", "#c6dbef", "#deebf7",
];

fn level_colour(level: u64) -> &'static str {
    LEVEL_COLOURS[(level as usize).min(LEVEL_COLOURS.len() - 1)]
}

fn exit_colour(reason: &str) -> &'static str {
    match reason {
        "io_out" => "#4e79a7",
        "io_in" => "#59a14f",
        "mmio_read" => "#b07aa1",
        "mmio_write" => "#9c755f",
        "hlt" => "#76b7b2",
        "intr" => "#bab0ac",
        _ => "#e15759",
    }
}

/// One bar in a process lane: one run, or several too close to tell apart.
struct Bar {
    x0: f64,
    x1: f64,
    runs: usize,
    start: u64,
    end: u64,
    /// Time on the CPU within the bar.
    busy: u64,
}

/// The SVG being written, top to bottom.
struct Drawing<'a> {
    t: &'a Timeline,
    out: String,
    y: f64,
    ns_per_px: f64,
}

impl<'a> Drawing<'a> {
    fn new(t: &'a Timeline) -> Drawing<'a> {
        Drawing {
            t,
            out: String::new(),
            y: 0.0,
            ns_per_px: t.end_ns.max(1) as f64 / PLOT_W,
        }
    }

    fn x(&self, t_ns: u64) -> f64 {
        LEFT + t_ns as f64 / self.ns_per_px
    }

    /// The middle of a pixel column (the latest time falls just past the
    /// last one).
    fn col_x(&self, col: u32) -> f64 {
        LEFT + (col as f64).min(PLOT_W - 1.0) + 0.5
    }

    fn finish(mut self) -> String {
        self.title();
        let lanes_top = self.y;
        for (i, lane) in self.t.lanes.values().enumerate() {
            self.process_lane(i, lane);
        }
        self.boost_lines(lanes_top);
        if self.t.lanes.is_empty() {
            self.note("no processes in this trace");
        }
        self.exit_lane();
        self.tick_row();
        self.axis();
        self.legend();
        let height = self.y + 10.0;
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height}\" \
             viewBox=\"0 0 {WIDTH} {height}\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"12\">\n\
             <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n{}</svg>\n",
            self.out
        )
    }

    fn title(&mut self) {
        let h = &self.t.header;
        let command: Vec<&str> = std::iter::once("lde")
            .chain(h.argv.iter().skip(1).map(String::as_str))
            .collect();
        let ending = match &self.t.footer {
            Some(f) => format!("{}: {}", f.end, f.message),
            None => "incomplete trace (no footer)".into(),
        };
        writeln!(
            self.out,
            "<text x=\"10\" y=\"22\" font-size=\"16\" font-weight=\"bold\">{}</text>",
            xml(&command.join(" "))
        )
        .unwrap();
        writeln!(
            self.out,
            "<text x=\"10\" y=\"42\" fill=\"#444\">sched {}, quantum {}, kvm {}, {} — {} — {} ms traced</text>",
            xml(h.sched.name()),
            duration(h.quantum_us.saturating_mul(1000)),
            xml(h.kvm.name()),
            xml(&h.cpu_model),
            xml(&ending),
            ms(self.t.end_ns)
        )
        .unwrap();
        self.y = 60.0;
    }

    fn note(&mut self, text: &str) {
        writeln!(
            self.out,
            "<text x=\"{LEFT}\" y=\"{}\" fill=\"#888\" font-style=\"italic\">{}</text>",
            self.y + 18.0,
            xml(text)
        )
        .unwrap();
        self.y += LANE_H;
    }

    fn process_lane(&mut self, index: usize, lane: &Lane) {
        let y = self.y;
        let label = if lane.name.is_empty() {
            lane.pid.to_string()
        } else {
            format!("{} {}", lane.pid, lane.name)
        };
        let colour = PROCESS_COLOURS[index % PROCESS_COLOURS.len()];
        writeln!(
            self.out,
            "<g class=\"lane process\" data-pid=\"{}\">",
            lane.pid
        )
        .unwrap();
        if index % 2 == 0 {
            writeln!(
                self.out,
                "<rect x=\"{LEFT}\" y=\"{y}\" width=\"{PLOT_W}\" height=\"{LANE_H}\" fill=\"#f6f6f6\"/>"
            )
            .unwrap();
        }
        let on_cpu = lane
            .runs
            .iter()
            .fold(0u64, |sum, (s, e)| sum.saturating_add(e - s));
        writeln!(
            self.out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}<title>{}: {} runs, {} ms on the CPU, {} system calls, {} traps</title></text>",
            LEFT - 8.0,
            y + 18.0,
            xml(&label),
            xml(&label),
            lane.runs.len(),
            ms(on_cpu),
            lane.syscalls.total,
            lane.traps.total
        )
        .unwrap();
        if self.t.mlfq {
            for (level, runs) in lane.runs_by_level() {
                self.run_bars(&runs, &label, level_colour(level), Some(level), y);
            }
        } else {
            self.run_bars(&lane.runs, &label, colour, None, y);
        }
        for (col, n) in lane.syscalls.columns(self.ns_per_px) {
            writeln!(
                self.out,
                "<rect class=\"syscall\" x=\"{:.2}\" y=\"{}\" width=\"1.5\" height=\"6\" fill=\"{SYSCALL_COLOUR}\"><title>{n} system call(s)</title></rect>",
                self.col_x(col) - 0.75,
                y + 1.0
            )
            .unwrap();
        }
        for (col, n) in lane.traps.columns(self.ns_per_px) {
            let x = self.col_x(col);
            writeln!(
                self.out,
                "<path class=\"trap\" d=\"M{:.2} {} l6 0 l-3 6 z\" fill=\"{TRAP_COLOUR}\"><title>{n} trap(s)</title></path>",
                x - 3.0,
                y + 21.0
            )
            .unwrap();
        }
        let why = xml(lane.killed.as_deref().unwrap_or("?"));
        for (col, _) in lane.kills.columns(self.ns_per_px) {
            let (x, cy) = (self.col_x(col), y + 14.0);
            writeln!(
                self.out,
                "<path class=\"kill\" d=\"M{:.2} {} l8 8 M{:.2} {} l-8 8\" stroke=\"{KILL_COLOUR}\" stroke-width=\"2.5\"><title>killed: {why}</title></path>",
                x - 4.0,
                cy - 4.0,
                x + 4.0,
                cy - 4.0
            )
            .unwrap();
        }
        writeln!(self.out, "</g>").unwrap();
        self.y += LANE_H;
    }

    /// `runs` as bars in the lane at `y`, in `colour`; `level` is the MLFQ
    /// level they ran at.
    fn run_bars(
        &mut self,
        runs: &[(u64, u64)],
        label: &str,
        colour: &str,
        level: Option<u64>,
        y: f64,
    ) {
        let (level_attr, at_level) = match level {
            Some(l) => (format!(" data-level=\"{l}\""), format!(" at level {l}")),
            None => (String::new(), String::new()),
        };
        for bar in self.bars(runs) {
            let span = (bar.end - bar.start).max(1);
            // A bar of many runs is as opaque as the share of its time the
            // process had the CPU, and has no outline (outlines would darken
            // packed bars into stripes).
            let (what, opacity, outline) = if bar.runs == 1 {
                ("on the CPU".to_string(), 1.0, 0.3)
            } else {
                let share = bar.busy as f64 / span as f64;
                (
                    format!("{} runs, {} ms on the CPU", bar.runs, ms(bar.busy)),
                    share.clamp(0.2, 1.0),
                    0.0,
                )
            };
            writeln!(
                self.out,
                "<rect class=\"run\"{level_attr} x=\"{:.2}\" y=\"{}\" width=\"{:.2}\" height=\"12\" fill=\"{colour}\" fill-opacity=\"{opacity:.2}\" stroke=\"#555\" stroke-width=\"{outline}\"><title>{}: {what}{at_level}, {}–{} ms</title></rect>",
                bar.x0,
                y + 8.0,
                bar.x1 - bar.x0,
                xml(label),
                ms(bar.start),
                ms(bar.end)
            )
            .unwrap();
        }
    }

    /// MLFQ: a dashed line across the process lanes (from `top` down) at
    /// each priority boost.
    fn boost_lines(&mut self, top: f64) {
        if self.t.boosts.total == 0 {
            return;
        }
        writeln!(self.out, "<g class=\"boosts\">").unwrap();
        for (col, n) in self.t.boosts.columns(self.ns_per_px) {
            writeln!(
                self.out,
                "<line class=\"boost\" x1=\"{x:.2}\" y1=\"{top}\" x2=\"{x:.2}\" y2=\"{}\" stroke=\"{BOOST_COLOUR}\" stroke-width=\"1.5\" stroke-dasharray=\"4 3\"><title>{n} priority boost(s): every job to the top level</title></line>",
                self.y,
                x = self.col_x(col)
            )
            .unwrap();
        }
        writeln!(self.out, "</g>").unwrap();
    }

    /// Runs as bars at least a pixel wide, merging those that would touch
    /// into bars of a few pixels (so that their shading still shows how the
    /// share of the CPU changes over time).
    fn bars(&self, runs: &[(u64, u64)]) -> Vec<Bar> {
        let mut sorted = runs.to_vec();
        sorted.sort_unstable();
        let mut bars: Vec<Bar> = Vec::new();
        for (start, end) in sorted {
            let x0 = self.x(start);
            let x1 = self.x(end).max(x0 + 1.0);
            match bars.last_mut() {
                Some(bar) if x0 <= bar.x1 + 0.5 && x1 - bar.x0 <= 4.0 => {
                    bar.x1 = bar.x1.max(x1);
                    bar.runs += 1;
                    bar.end = bar.end.max(end);
                    bar.busy = bar.busy.saturating_add(end - start);
                }
                _ => bars.push(Bar {
                    x0,
                    x1,
                    runs: 1,
                    start,
                    end,
                    busy: end - start,
                }),
            }
        }
        bars
    }

    fn exit_lane(&mut self) {
        let y = self.y + 4.0;
        let rows = self.t.exits.len().max(1) as f64;
        let height = (rows * EXIT_ROW_H + 6.0).max(LANE_H);
        let total: u64 = self.t.exits.values().map(|m| m.total).sum();
        writeln!(self.out, "<g class=\"lane vmm\">").unwrap();
        writeln!(
            self.out,
            "<rect x=\"{LEFT}\" y=\"{y}\" width=\"{PLOT_W}\" height=\"{height}\" fill=\"#eef2f7\"/>"
        )
        .unwrap();
        writeln!(
            self.out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">VMM exits<title>{total} exits reached the VMM</title></text>",
            LEFT - 8.0,
            y + 18.0
        )
        .unwrap();
        for (row, (reason, marks)) in self.t.exits.iter().enumerate() {
            let ry = y + 3.0 + row as f64 * EXIT_ROW_H;
            let colour = exit_colour(reason);
            for (col, n) in marks.columns(self.ns_per_px) {
                writeln!(
                    self.out,
                    "<rect class=\"exit\" x=\"{:.2}\" y=\"{ry}\" width=\"1.5\" height=\"{}\" fill=\"{colour}\"><title>{n} {} exit(s)</title></rect>",
                    self.col_x(col) - 0.75,
                    EXIT_ROW_H - 1.0,
                    xml(reason)
                )
                .unwrap();
            }
        }
        writeln!(self.out, "</g>").unwrap();
        self.y = y + height;
    }

    fn tick_row(&mut self) {
        let y = self.y + 4.0;
        writeln!(self.out, "<g class=\"ticks\">").unwrap();
        writeln!(
            self.out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" font-size=\"10\" fill=\"#555\">timer ticks ({})</text>",
            LEFT - 8.0,
            y + 9.0,
            self.t.ticks.total
        )
        .unwrap();
        for (col, n) in self.t.ticks.columns(self.ns_per_px) {
            writeln!(
                self.out,
                "<line x1=\"{x:.2}\" y1=\"{y}\" x2=\"{x:.2}\" y2=\"{}\" stroke=\"{TICK_COLOUR}\" stroke-width=\"1\"><title>{n} tick(s)</title></line>",
                y + 10.0,
                x = self.col_x(col)
            )
            .unwrap();
        }
        writeln!(self.out, "</g>").unwrap();
        self.y = y + 12.0;
    }

    fn axis(&mut self) {
        let y = self.y + 2.0;
        let span = self.t.end_ns.max(1);
        let step = axis_step(span);
        let decimals = match step {
            s if s >= 1_000_000 => 0,
            s if s >= 100_000 => 1,
            s if s >= 10_000 => 2,
            _ => 3,
        };
        writeln!(
            self.out,
            "<g class=\"axis\" font-size=\"10\" fill=\"#333\">"
        )
        .unwrap();
        writeln!(
            self.out,
            "<line x1=\"{LEFT}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"#333\"/>",
            LEFT + PLOT_W
        )
        .unwrap();
        let mut t = 0;
        while t <= span {
            let x = self.x(t);
            writeln!(
                self.out,
                "<line x1=\"{x:.2}\" y1=\"{y}\" x2=\"{x:.2}\" y2=\"{}\" stroke=\"#333\"/><text x=\"{x:.2}\" y=\"{}\" text-anchor=\"middle\">{:.*}</text>",
                y + 5.0,
                y + 17.0,
                decimals,
                t as f64 / 1e6
            )
            .unwrap();
            match t.checked_add(step) {
                Some(next) => t = next,
                None => break,
            }
        }
        writeln!(
            self.out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">ms</text>",
            LEFT - 8.0,
            y + 17.0
        )
        .unwrap();
        writeln!(self.out, "</g>").unwrap();
        self.y = y + 24.0;
    }

    fn legend(&mut self) {
        let mut y = self.y + 8.0;
        writeln!(self.out, "<g class=\"legend\" font-size=\"11\">").unwrap();
        let mut items: Vec<(String, String)> = Vec::new();
        if self.t.mlfq {
            for level in 0..=self.t.max_level {
                let top = if level == 0 { " (top)" } else { "" };
                items.push((format!("level {level}"), format!("level {level}{top}")));
            }
            if self.t.boosts.total > 0 {
                items.push(("boost".into(), "priority boost".into()));
            }
        } else {
            items.push(("run".into(), "on the CPU".into()));
        }
        let fixed = [
            ("syscall", "system call"),
            ("trap", "trap / fault"),
            ("kill", "kill"),
            ("tick", "timer tick"),
        ];
        items.extend(fixed.map(|(what, text)| (what.to_string(), text.to_string())));
        items.extend(
            self.t
                .exits
                .keys()
                .map(|r| (format!("exit {r}"), format!("exit: {r}"))),
        );
        let mut x = LEFT;
        for (what, text) in items {
            // About 6 px per character at this size; a full row wraps.
            let item_w = 24.0 + text.chars().count() as f64 * 6.2;
            if x > LEFT && x + item_w > WIDTH {
                x = LEFT;
                y += 16.0;
            }
            let (top, bottom) = (y + 2.0, y + 10.0);
            let shape = match what.as_str() {
                "run" => format!(
                    "<rect x=\"{x}\" y=\"{top}\" width=\"10\" height=\"8\" fill=\"{}\" stroke=\"#555\" stroke-width=\"0.3\"/>",
                    PROCESS_COLOURS[0]
                ),
                "syscall" => format!(
                    "<rect x=\"{}\" y=\"{top}\" width=\"1.5\" height=\"8\" fill=\"{SYSCALL_COLOUR}\"/>",
                    x + 4.0
                ),
                "trap" => format!("<path d=\"M{x} {top} l8 0 l-4 8 z\" fill=\"{TRAP_COLOUR}\"/>"),
                "kill" => format!(
                    "<path d=\"M{x} {top} l8 8 M{} {top} l-8 8\" stroke=\"{KILL_COLOUR}\" stroke-width=\"2.5\"/>",
                    x + 8.0
                ),
                "tick" => format!(
                    "<line x1=\"{0}\" y1=\"{top}\" x2=\"{0}\" y2=\"{bottom}\" stroke=\"{TICK_COLOUR}\"/>",
                    x + 4.0
                ),
                "boost" => format!(
                    "<line class=\"boost-key\" x1=\"{0}\" y1=\"{top}\" x2=\"{0}\" y2=\"{bottom}\" stroke=\"{BOOST_COLOUR}\" stroke-width=\"1.5\" stroke-dasharray=\"4 3\"/>",
                    x + 4.0
                ),
                other => match (other.strip_prefix("level "), other.strip_prefix("exit ")) {
                    (Some(level), _) => format!(
                        "<rect x=\"{x}\" y=\"{top}\" width=\"10\" height=\"8\" fill=\"{}\" stroke=\"#555\" stroke-width=\"0.3\"/>",
                        level_colour(level.parse().unwrap_or(0))
                    ),
                    (_, reason) => format!(
                        "<rect x=\"{}\" y=\"{top}\" width=\"3\" height=\"8\" fill=\"{}\"/>",
                        x + 3.0,
                        exit_colour(reason.unwrap_or(other))
                    ),
                },
            };
            writeln!(
                self.out,
                "{shape}<text x=\"{}\" y=\"{}\">{}</text>",
                x + 14.0,
                y + 9.0,
                xml(&text)
            )
            .unwrap();
            x += item_w;
        }
        writeln!(self.out, "</g>").unwrap();
        self.y = y + 14.0;
    }
}

/// A round step for about 8 to 20 labels across `span_ns`: 1, 2 or 5 times
/// a power of ten nanoseconds.
fn axis_step(span_ns: u64) -> u64 {
    let raw = (span_ns / 10).max(1);
    let magnitude = 10u64.pow(raw.ilog10());
    [1, 2, 5, 10]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|&step| step >= raw)
        .unwrap_or(10 * magnitude)
}

/// Text for XML: markup escaped, and characters XML 1.0 forbids (control
/// characters a damaged or hostile trace could carry) replaced.
pub fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t'
            | '\n'
            | '\r'
            | '\u{20}'..='\u{D7FF}'
            | '\u{E000}'..='\u{FFFD}'
            | '\u{10000}'.. => out.push(c),
            _ => out.push('\u{FFFD}'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::reader::testing::*;
    use crate::trace::record::ExitKind;

    fn timeline(records: &[Record]) -> Timeline {
        let path = write_trace("timeline.jsonl", records);
        Timeline::read(TraceReader::open(&path.0).unwrap()).unwrap()
    }

    fn process_lanes(svg: &str) -> Vec<String> {
        let doc = roxmltree::Document::parse(svg).expect("well-formed SVG");
        doc.descendants()
            .filter(|n| n.attribute("class") == Some("lane process"))
            .map(|lane| {
                lane.descendants()
                    .find(|n| n.has_tag_name("text"))
                    .and_then(|t| t.first_child())
                    .and_then(|t| t.text())
                    .unwrap_or("")
                    .to_string()
            })
            .collect()
    }

    #[test]
    fn round_robin_runs_come_out_in_order() {
        let (records, want) = round_robin();
        let t = timeline(&records);
        assert_eq!(t.lanes.keys().copied().collect::<Vec<_>>(), vec![1, 2, 3]);
        for pid in 1..=3 {
            let runs: Vec<(u64, u64)> = want
                .iter()
                .filter(|r| r.0 == pid)
                .map(|r| (r.1, r.2))
                .collect();
            assert_eq!(t.lanes[&pid].runs, runs, "pid {pid}");
        }
        // All lanes together, by start time: the schedule as it happened.
        let mut all: Vec<(u32, u64, u64)> = t
            .lanes
            .values()
            .flat_map(|l| l.runs.iter().map(move |&(s, e)| (l.pid, s, e)))
            .collect();
        all.sort_by_key(|r| r.1);
        assert_eq!(all, want);
        assert_eq!(t.lanes[&1].syscalls.total, 2);
        assert_eq!(t.lanes[&3].traps.total, 1);
        assert_eq!(t.lanes[&3].kills.total, 1);
        assert_eq!(t.ticks.total, 2);
        assert_eq!(t.exits["io_out"].total, 2);
        assert!(t.complete);
    }

    #[test]
    fn the_svg_is_well_formed_with_one_lane_per_process() {
        let (records, _) = round_robin();
        let svg = timeline(&records).svg();
        assert_eq!(process_lanes(&svg), vec!["1 spin", "2 worker", "3 hog"]);
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let count = |class: &str| {
            doc.descendants()
                .filter(|n| n.attribute("class") == Some(class))
                .count()
        };
        assert_eq!(count("run"), 6);
        assert_eq!(count("kill"), 1);
        assert_eq!(count("trap"), 1);
        assert_eq!(count("lane vmm"), 1);
        assert!(svg.contains("sched rr, quantum 1.00 ms"));
        assert!(svg.contains("lde run --program spin:3"));
        assert!(svg.contains("<title>killed: last-hog</title>"));
    }

    /// An MLFQ run: pid 1 is demoted at 100 ns, pid 2 runs from 200, a
    /// boost at 300 brings pid 1 back to the top, and it runs from 400.
    fn mlfq_run(boost: bool) -> Vec<Record> {
        let mut h = header(&[(1, "long"), (2, "short")]);
        h.sched = Policy::Mlfq;
        let level = GuestEvent::Level {
            tick: 1,
            from: 0,
            to: 1,
        };
        let mut records = vec![
            Record::Header(h),
            switch(0, 0, 1, "start"),
            event(100, 1, level),
            switch(200, 1, 2, "preempt"),
        ];
        if boost {
            records.push(event(300, 0, GuestEvent::Boost { tick: 3 }));
        }
        records.push(switch(400, 2, 1, "preempt"));
        records.push(exit(500, 10, ExitKind::Hlt));
        records
    }

    fn classes(svg: &str, class: &str) -> usize {
        roxmltree::Document::parse(svg)
            .expect("well-formed SVG")
            .descendants()
            .filter(|n| n.attribute("class") == Some(class))
            .count()
    }

    fn run_levels(svg: &str) -> Vec<(String, String)> {
        let doc = roxmltree::Document::parse(svg).unwrap();
        doc.descendants()
            .filter(|n| n.attribute("class") == Some("run"))
            .map(|n| {
                let pid = n.parent().unwrap().attribute("data-pid").unwrap_or("");
                (
                    pid.to_string(),
                    n.attribute("data-level").unwrap_or("").to_string(),
                )
            })
            .collect()
    }

    #[test]
    fn mlfq_runs_are_cut_and_coloured_by_level_with_boosts_marked() {
        let t = timeline(&mlfq_run(true));
        assert!(t.mlfq);
        assert_eq!(t.max_level, 1);
        assert_eq!(t.boosts.total, 1);
        let by_level = t.lanes[&1].runs_by_level();
        assert_eq!(by_level[&0], vec![(0, 100), (400, 500)]);
        assert_eq!(by_level[&1], vec![(100, 200)]);
        assert_eq!(t.lanes[&2].runs_by_level()[&0], vec![(200, 400)]);
        let svg = t.svg();
        assert_eq!(classes(&svg, "boost"), 1);
        assert_eq!(classes(&svg, "boost-key"), 1);
        let mut levels = run_levels(&svg);
        levels.sort();
        let want: Vec<(String, String)> = [("1", "0"), ("1", "0"), ("1", "1"), ("2", "0")]
            .iter()
            .map(|&(p, l)| (p.into(), l.into()))
            .collect();
        assert_eq!(levels, want);
        assert!(svg.contains(&format!("fill=\"{}\"", level_colour(1))));
        assert!(svg.contains(">level 0 (top)</text>"));
        assert!(svg.contains(">level 1</text>"));
        assert!(svg.contains(">priority boost</text>"));
    }

    #[test]
    fn without_boosts_or_mlfq_there_are_no_boost_marks_or_levels() {
        let svg = timeline(&mlfq_run(false)).svg();
        assert_eq!(classes(&svg, "boost"), 0);
        assert!(!svg.contains("priority boost"));
        assert!(svg.contains(">level 1</text>"));
        let (records, _) = round_robin();
        let svg = timeline(&records).svg();
        assert_eq!(classes(&svg, "boost"), 0);
        assert!(run_levels(&svg).iter().all(|(_, level)| level.is_empty()));
        assert!(!svg.contains(">level 0"));
        assert!(svg.contains(">on the CPU</text>"));
    }

    #[test]
    fn names_are_escaped() {
        let nasty = "<a & \"b\" 'c'>\u{1}";
        let mut records = vec![Record::Header(header(&[(1, nasty)]))];
        records.push(switch(0, 0, 1, "start"));
        records.push(exit(1000, 10, ExitKind::Hlt));
        let svg = timeline(&records).svg();
        assert_eq!(process_lanes(&svg), vec!["1 <a & \"b\" 'c'>\u{FFFD}"]);
    }

    #[test]
    fn a_long_run_stays_readable() {
        // 150k records: enough to be far past one mark per pixel.
        const N: u64 = 50_000;
        let mut records = vec![Record::Header(header(&[(1, "a"), (2, "b")]))];
        for i in 0..N {
            let t = i * 10_000;
            let pid = (i % 2 + 1) as u32;
            records.push(switch(t, 3 - pid, pid, "preempt"));
            records.push(syscall(t + 1, pid, 1, "write", "gate"));
            records.push(exit(
                t + 2,
                100,
                ExitKind::IoOut {
                    port: 0x3f8,
                    size: 1,
                    count: 1,
                    value: 0,
                },
            ));
        }
        let t = timeline(&records);
        assert_eq!(t.lanes[&1].runs.len() as u64, N / 2);
        assert_eq!(t.lanes[&1].syscalls.total, N / 2);
        assert!(t.lanes[&1].syscalls.buckets.len() <= MAX_BUCKETS);
        let svg = t.svg();
        // Bounded by pixel columns, not by events.
        assert!(svg.len() < 1_000_000, "{} bytes", svg.len());
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let syscalls = doc
            .descendants()
            .filter(|n| n.attribute("class") == Some("syscall"))
            .count();
        assert!(syscalls <= 2 * (PLOT_W as usize + 1), "{syscalls}");
        let runs = doc
            .descendants()
            .filter(|n| n.attribute("class") == Some("run"))
            .count();
        assert!(runs <= 2 * (PLOT_W as usize + 1), "{runs}");
    }

    #[test]
    fn a_trace_without_processes_still_draws() {
        let records = vec![Record::Header(header(&[])), exit(5, 1, ExitKind::Hlt)];
        let svg = timeline(&records).svg();
        assert!(process_lanes(&svg).is_empty());
        assert!(svg.contains("no processes in this trace"));
        assert!(svg.contains("incomplete trace (no footer)"));
    }

    #[test]
    fn draw_file_writes_the_svg() {
        let (records, _) = round_robin();
        let trace = write_trace("draw.jsonl", &records);
        let svg = TempPath::new("draw.svg");
        draw_file(&trace.0, &svg.0).unwrap();
        let text = std::fs::read_to_string(&svg.0).unwrap();
        assert_eq!(process_lanes(&text).len(), 3);
        let bad = write_text("draw-bad.jsonl", "garbage\n");
        let err = draw_file(&bad.0, &svg.0).unwrap_err();
        assert_eq!(crate::error::exit_status(&err), 2);
    }

    #[test]
    fn axis_steps_are_round() {
        assert_eq!(axis_step(10_000_000), 1_000_000);
        assert_eq!(axis_step(25_000_000), 5_000_000);
        assert_eq!(axis_step(7), 1);
        assert_eq!(axis_step(130_000), 20_000);
    }

    #[test]
    fn marks_widen_their_buckets_but_keep_their_count() {
        let mut m = Marks::default();
        for t in 0..100_000u64 {
            m.add(t * 7);
        }
        assert!(m.buckets.len() <= MAX_BUCKETS);
        assert_eq!(m.buckets.values().sum::<u64>(), 100_000);
        let cols = m.columns(700_000.0 / PLOT_W);
        assert_eq!(cols.iter().map(|c| c.1).sum::<u64>(), 100_000);
        assert!(cols.len() <= PLOT_W as usize + 1);
    }
}

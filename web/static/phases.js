// The phases of a hearing and where each may go next: the same table as the server's
// (hearing/phases.py, TRANSITIONS; tests/test_pages_phases.py holds the two together). The
// console enables only the buttons of a move the court can make; the server decides anyway.

export const NEXT_PHASES = {
  "scheduled": ["in_session", "in_camera", "adjourned"],
  "in_session": ["recess", "in_camera", "deliberation", "adjourned"],
  "recess": ["in_session", "in_camera", "adjourned"],
  "in_camera": ["in_session", "recess", "deliberation", "adjourned"],
  "deliberation": ["in_session", "in_camera", "adjourned"],
  "adjourned": []
};

export const PHASES = Object.keys(NEXT_PHASES);

// The rooms the court records in (hearing/policy.py, RECORDED_ROOMS): "● Recorded" shows
// only there, never in a consultation room, the caucus or the deliberation room.
export const RECORDED_ROOMS = ["courtroom", "witness_room"];

export function canMove(from, to) {
  return (NEXT_PHASES[from] || []).includes(to);
}

// Package market runs the flexibility market on a node: offer, clear,
// reserve, dispatch, and the hook for measurement (README "Flexibility
// market"). The rules are package flex's (pure, deterministic); this
// package wires them to gossip, the store, the chain and the setpoint path.
//
//  1. Offer. A home with market.offer on computes, for every open request
//     in its devices' zone, what each controllable device can offer for
//     the request's window (flex.OfferableCapacity from the device's live
//     state and the homeowner's policy), checks it (flex.CheckOffer),
//     signs it with the device's key and gossips it on /gridmint/1/offers.
//     An offer is renewed only when the capacity moved by RenewChange and
//     RenewInterval has passed since the device's last offer, and at most
//     MaxOffersPerTick go out per tick: no flood. Opted-out devices offer
//     nothing. With an offer measured by the schedule baseline the home
//     signs and gossips the device's plan for the window (PlanSchedule,
//     p2p.Schedule on /gridmint/1/schedules); every node keeps the plans
//     (ScheduleFor) and refuses foreign, late or short ones.
//  2. Clear. Every node keeps the verified offers and requests it receives
//     (the store, until their windows pass) and, Collect after a request's
//     gate closure, runs flex.Clear over them: the same inputs give every
//     node the same awards and root. The request's author (the utility)
//     gossips its root on /gridmint/1/roots; each node compares it with its
//     own and refuses one that differs (root_mismatch): nothing is
//     dispatched for it.
//  3. Reserve. The utility burns FLEX equal to the cleared value with
//     FLEX.reserve(request, root, value). Every node follows the chain's
//     Reserved events (the node's confirmed index) and marks a request's
//     awards firm only when the buyer's reservation names its root with at
//     least its value (flex.CheckReservation). A request not firm at its
//     window start lapses: nothing is dispatched.
//  4. Dispatch. At the window start a home sends the setpoints of its firm
//     awards (flex.PlanDispatch, origin market) through the node's
//     dispatcher, which checks the device's safety limits and the
//     homeowner's opt-out first; at the window end it restores. Before
//     the window start the homeowner may opt an awarded device out of one
//     event (OptOut): the home signs and gossips a p2p.Exemption on
//     /gridmint/1/exemptions and does not dispatch the device; every
//     node keeps exemptions declared before the window for an award of
//     the author's device (ExemptionsFor, exemptions.go) and refuses
//     late, foreign, unknown and flooding ones. A device opted out of
//     the market altogether (policy or registry) after its offer went
//     out gets the same declaration for each upcoming event it is
//     awarded in, at the next Step (exemptOptedOut).
//  5. Measure. When a request becomes firm the Tracker (node/market/mv)
//     gets the clearing, the reservation and this node's own awards.
//
// A device on the network is the pair (offer author, device key): the
// clearing names it <author>/key/<device key hex>, so every node computes
// the same awards; a home maps its own keys back to its device ids.
package market

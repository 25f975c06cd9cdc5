/**
 * The hub's name for the Pusher protocol: the tag of Pusher connections and deliveries (which
 * selects `pusherCodec`) and the name of Pusher's room namespace. A file of its own because both
 * the codec and the channel-to-room mapping build on it, and the codec also uses that mapping.
 */
export const PUSHER_PROTOCOL = 'pusher'

package dto

// Socket.IO payloads of /appGateway and /chatGateway (contract 4.1, 4.2).
// Inbound types are decoded from the client's JSON; outbound types are
// emitted as they are. Field names keep the original's spellings.

// FriendEvent is the payload of RequestFriendShip, CancelFriendShip,
// DeleteFriendShip, AcceptRequest and DeleteRequest. The frontend sends
// "stats" on some and "status" on others; whichever came is relayed.
type FriendEvent struct {
	UserID   string  `json:"userId"`
	FriendID string  `json:"friendId"`
	Stats    *string `json:"stats,omitempty"`
	Status   *string `json:"status,omitempty"`
}

// BlockEvent is the payload of BlockFriend.
type BlockEvent struct {
	UserID    string  `json:"userId"`
	BlockedID string  `json:"blockedId"`
	Stats     *string `json:"stats,omitempty"`
}

// UnblockEvent is the payload of UnblockFriend.
type UnblockEvent struct {
	UserID        string  `json:"userId"`
	BlockedUserID string  `json:"blockedUserId"`
	Stats         *string `json:"stats,omitempty"`
}

// InviteUser is the payload of inviteUser.
type InviteUser struct {
	FriendShipStatus string `json:"friendShipStatus"`
	UserID           string `json:"userId"`
	FriendID         string `json:"friendId"`
}

// JoinRoom is the payload of joinRoom.
type JoinRoom struct {
	SenderID   string `json:"senderId"`
	RecieverID string `json:"recieverId"`
}

// Joined answers joinRoom.
type Joined struct {
	RoomName string `json:"roomName"`
}

// Message is the payload of the chat "message" event and of notifMessage.
type Message struct {
	Content    string `json:"content"`
	SenderID   string `json:"senderId"`
	RecieverID string `json:"recieverId"`
}

// GetMessage is a message delivered to a chat room; note "receiverId".
type GetMessage struct {
	SenderID   string `json:"senderId"`
	ReceiverID string `json:"receiverId"`
	Text       string `json:"text"`
	Room       string `json:"room"`
}

// MessageAck answers a "message" event that carried an acknowledgement.
type MessageAck struct {
	Status string `json:"status"` // "ok"
}

// Exception is the "exception" event: a request of this socket failed.
type Exception struct {
	Status  string `json:"status"`
	Message string `json:"message"`
}

// UserStatus announces a presence change on /appGateway.
type UserStatus struct {
	UserID     string `json:"userId"`
	Status     string `json:"status"`
	LastSeenAt *Time  `json:"lastSeenAt"`
}

CREATE INDEX `login_approvals_openid` ON `login_approvals` (`wechat_openid`) WHERE "login_approvals"."wechat_openid" IS NOT NULL;--> statement-breakpoint
CREATE INDEX `login_approvals_user` ON `login_approvals` (`user_id`);--> statement-breakpoint
CREATE INDEX `wechat_identities_openid` ON `wechat_identities` (`openid`);--> statement-breakpoint
CREATE INDEX `wechat_unionids_user` ON `wechat_unionids` (`user_id`);